"""The backend's browser crawler (``POST /api/crawl``): Playwright driving headless Chromium."""

"""Request and response schemas shared by the services and the backend client."""

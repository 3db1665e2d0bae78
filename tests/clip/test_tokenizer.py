"""The CLIP tokenizer built offline from the vocabulary in open_clip gives open_clip's
own token ids, so demo and real checkpoints read text the way CLIP was trained to."""

from __future__ import annotations

import pytest

from ai.runtime.families.hf_clip import clip_tokenizer
from ai.runtime.offline import prepare_model_libraries

SENTENCES = [
    "a photo of a dog",
    "A person wearing a ski-mask, at night!",
    "white delivery van parked in the driveway (2 people)",
    "Café façade — naïve résumé",
    "license plate ABC-1234",
]


@pytest.mark.parametrize("sentence", SENTENCES)
def test_ids_match_open_clip(sentence: str) -> None:
    prepare_model_libraries()  # open_clip imports torchvision
    import open_clip

    theirs = open_clip.tokenize([sentence])[0].tolist()
    theirs = theirs[: theirs.index(49407) + 1]  # up to the end-of-text token
    assert clip_tokenizer()(sentence)["input_ids"] == theirs


def test_vocabulary_is_clip_sized() -> None:
    tokenizer = clip_tokenizer()
    assert len(tokenizer) == 49408
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id) == (49406, 49407)

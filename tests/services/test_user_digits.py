"""The user's digits are stored safely, validated, and split stably into train and held-out."""

import threading

import numpy as np
import pytest

from nn import EmptyImageError, ImageError, load_mnist
from nn.core.preprocess import mnist_style
from services.user_digits import UserDigits, UserDigitsError


def digit_image(index: int) -> np.ndarray:
    return mnist_style(load_mnist().test_images[index])


@pytest.fixture
def digits(tmp_path) -> UserDigits:
    return UserDigits(tmp_path / "digits")


def test_add_list_delete(digits: UserDigits) -> None:
    assert digits.all() == []
    first = digits.add(digit_image(0), 7)
    second = digits.add(digit_image(1), np.int64(2))
    stored = digits.all()
    assert [(d.id, d.label) for d in stored] == [(first.id, 7), (second.id, 2)]
    np.testing.assert_array_equal(stored[0].image, digit_image(0))
    assert stored[0].image.dtype == np.float32
    digits.delete(first.id)
    assert [d.id for d in digits.all()] == [second.id]
    with pytest.raises(UserDigitsError, match="no digit"):
        digits.delete(first.id)
    assert not list(digits.directory.glob(".*"))  # no temporary files left behind


def test_bad_digits_are_refused(digits: UserDigits) -> None:
    with pytest.raises(ValueError, match="0 to 9"):
        digits.add(digit_image(0), 10)
    with pytest.raises(ValueError, match="0 to 9"):
        digits.add(digit_image(0), True)
    with pytest.raises(ImageError, match="28×28 float"):
        digits.add(np.zeros((28, 27), np.float32), 1)
    with pytest.raises(ImageError, match="28×28 float"):
        digits.add(load_mnist().test_images[0], 1)  # uint8: not preprocessed
    with pytest.raises(ImageError, match="from 0 to 1"):
        digits.add(np.full((28, 28), 2.0), 1)
    with pytest.raises(EmptyImageError, match="blank"):
        digits.add(np.zeros((28, 28)), 1)
    assert digits.all() == []


def test_ids_cannot_reach_outside_the_folder(digits: UserDigits) -> None:
    with pytest.raises(UserDigitsError, match="not the id"):
        digits.delete("../../etc/passwd")


@pytest.mark.parametrize(
    "content", [b"garbage", b"PK\x03\x04truncated", b"\x93NUMPY\x01\x00v\x00{'descr': '|O'"]
)
def test_a_damaged_file_is_reported_by_name(digits: UserDigits, content: bytes) -> None:
    digits.add(digit_image(0), 3)
    bad = digits.directory / "20261124T070000000000-0123abcd.npz"
    bad.write_bytes(content)
    with pytest.raises(UserDigitsError, match=r"20261124T070000000000-0123abcd\.npz is damaged"):
        digits.all()
    digits.delete(bad.stem)
    assert len(digits.all()) == 1


def test_a_stored_file_with_other_arrays_is_refused(digits: UserDigits) -> None:
    digits.directory.mkdir()
    path = digits.directory / "20261124T070000000000-0123abcd.npz"
    np.savez(path, image=digit_image(0), label=np.uint8(3), extra=np.zeros(2))
    with pytest.raises(UserDigitsError, match="not an image and a label"):
        digits.all()


def test_two_threads_adding_at_once_lose_nothing(digits: UserDigits) -> None:
    image, start = digit_image(0), threading.Barrier(2)

    def adder(label: int) -> None:
        start.wait()
        for _ in range(20):
            UserDigits(digits.directory).add(image, label)

    threads = [threading.Thread(target=adder, args=(label,)) for label in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    labels = [d.label for d in digits.all()]
    assert sorted(labels) == [1] * 20 + [2] * 20


def test_split_holds_out_every_fourth_digit_per_label_from_the_second(digits: UserDigits) -> None:
    added = [digits.add(digit_image(i), label) for i, label in enumerate([5, 5, 3, 5, 5, 5, 5, 3, 9])]
    split = digits.split()
    # label 5: added 1st..6th → the 2nd and 6th held out; label 3: its 2nd; label 9: none.
    held = [added[i] for i in (1, 6, 7)]
    np.testing.assert_array_equal(split.held_out_labels, [d.label for d in held])
    np.testing.assert_array_equal(split.held_out_images, np.stack([d.image for d in held]))
    assert split.train_labels.tolist() == [5, 3, 5, 5, 5, 9]
    assert split.train_images.shape == (6, 28, 28) and split.train_labels.dtype == np.uint8
    # adding more digits never moves an earlier one between the parts
    digits.add(digit_image(20), 5)
    np.testing.assert_array_equal(digits.split().held_out_labels, [5, 5, 3])


def test_empty_split_has_the_right_shapes(digits: UserDigits) -> None:
    split = digits.split()
    assert split.train_images.shape == (0, 28, 28) and split.held_out_labels.shape == (0,)


def test_folder_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITLAB_USER_DIGITS", str(tmp_path / "mine"))
    UserDigits().add(digit_image(0), 4)
    assert len(list((tmp_path / "mine").glob("*.npz"))) == 1

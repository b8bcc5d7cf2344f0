import numpy as np
import pytest

from nn.explain.metrics import confusion_matrix, per_class_accuracy


def test_confusion_matrix_counts_each_true_predicted_pair():
    labels = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, 0, 2])
    matrix = confusion_matrix(labels, predicted, n_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert matrix.sum() == len(labels)


def test_confusion_matrix_matches_a_plain_loop_on_random_labels():
    rng = np.random.default_rng(0)
    labels, predicted = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    expected = np.zeros((10, 10), int)
    for t, p in zip(labels, predicted):
        expected[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(labels, predicted), expected)


def test_confusion_matrix_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix(np.zeros(3, int), np.zeros(4, int))


def test_per_class_accuracy_is_diagonal_over_row_totals_and_nan_for_absent_classes():
    matrix = np.array([[3, 1, 0], [0, 0, 0], [1, 1, 2]])
    accuracy = per_class_accuracy(matrix)
    assert accuracy[0] == pytest.approx(0.75)
    assert np.isnan(accuracy[1])
    assert accuracy[2] == pytest.approx(0.5)

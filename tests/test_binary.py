"""Binary detector: distillation term, gradient flow, augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sdaie.detect.binary import Augmentation, BinaryDetector, augment_crop, binary_loss, distillation_loss, random_patches
from sdaie.model.backbone import SDAIEExtractor


def test_distillation_is_zero_when_student_equals_teacher():
    torch.manual_seed(0)
    student = BinaryDetector()
    teacher = SDAIEExtractor()
    teacher.load_state_dict(student.extractor.state_dict())
    x = torch.rand(2, 3, 3, 64, 64)
    logits, out = student(x)
    assert distillation_loss(out, teacher(x)).item() == 0.0
    with torch.no_grad():
        next(teacher.parameters()).add_(0.1)
    assert distillation_loss(out, teacher(x)).item() > 0


def test_distillation_gradient_reaches_only_the_student():
    torch.manual_seed(0)
    student, teacher = BinaryDetector(), SDAIEExtractor()
    x = torch.rand(2, 3, 3, 64, 64)
    logits, out = student(x)
    total, ce, distill = binary_loss(logits, torch.tensor([0, 1]), out, teacher(x), alpha=0.05)
    torch.testing.assert_close(total, ce + 0.05 * distill)
    total.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert student.extractor.cnn.stem[0].weight.grad.abs().sum() > 0
    # without a teacher the loss is plain cross-entropy
    total, ce, distill = binary_loss(logits.detach(), torch.tensor([0, 1]), out, None, alpha=0.05)
    assert distill.item() == 0 and total.item() == ce.item()


def test_augmentation_blurs_compresses_and_downscales():
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    always_jpeg = Augmentation(blur_p=0.0, jpeg_p=1.0, downscale_p=0.0)
    out = augment_crop(crop, np.random.default_rng(1), always_jpeg)
    assert out.shape == crop.shape and not np.array_equal(out, crop)
    always_blur = Augmentation(blur_p=1.0, jpeg_p=0.0, blur_sigma=(1.0, 1.0))
    blurred = augment_crop(crop, np.random.default_rng(1), always_blur).astype(float)
    assert np.abs(np.diff(blurred, axis=1)).mean() < 0.6 * np.abs(np.diff(crop.astype(float), axis=1)).mean()
    never = Augmentation(blur_p=0.0, jpeg_p=0.0, downscale_p=0.0)
    assert np.array_equal(augment_crop(crop, np.random.default_rng(1), never), crop)
    patches = random_patches(crop, 16, np.random.default_rng(2), never)
    assert patches.shape == (16, 3, 64, 64)
    # each plain patch is an exact window of the crop
    small = crop[:80, :80]
    windows = {small[y : y + 64, x : x + 64].tobytes() for y in range(17) for x in range(17)}
    assert all(p.transpose(1, 2, 0).tobytes() in windows for p in random_patches(small, 6, np.random.default_rng(2), never))
    smooth = np.repeat(np.repeat(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8), 2, 0), 2, 1)
    down = random_patches(smooth, 8, np.random.default_rng(3), Augmentation(downscale_p=1.0, downscale_range=(128, 128)))
    assert down.shape == (8, 3, 64, 64)


def test_class_weights_balance_an_unbalanced_set_and_leave_a_balanced_one():
    from sdaie.detect.binary import balanced_class_weights

    weights = balanced_class_weights(np.array([0, 0, 0, 1]))
    torch.testing.assert_close(weights, torch.tensor([4 / 6, 4 / 2]))
    assert float((weights * torch.tensor([3.0, 1.0])).sum()) == 4.0  # total weight unchanged, split evenly
    torch.testing.assert_close(balanced_class_weights(np.array([0, 1, 1, 0])), torch.ones(2))
    with pytest.raises(ValueError, match="both classes"):
        balanced_class_weights(np.zeros(5, dtype=int))

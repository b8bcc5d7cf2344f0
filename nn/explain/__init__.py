"""Explanation: what a network holds inside and why it answers as it does.

Owns activations and features (`inside`), maps of the hidden layers (`projection`), saliency,
one image's arithmetic step by step (`stepwise`), the gradient check against finite
differences (`gradcheck`), per-class metrics and hints after a run.

May import: NumPy, the standard library, `nn.core`, and itself.
"""

"""Digit Lab's application services: what the app and the command lines share beyond the maths.

`nn/` is the engine: it trains and reads networks and knows nothing of folders, settings or
users. This package is what turns it into an application:

- `locations`: where things are kept (the one reader of the environment variables that move them);
- `runs`: the ONE owner of trained models: their files, records, names, times, and the active one;
- `user_digits`: the digits a user drew and labelled;
- `finetune`: teaching a model those digits without forgetting MNIST;
- `jobs` and `worker`: runs executed in worker processes, with a queue, progress and stop.
"""

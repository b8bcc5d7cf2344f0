"""Digit Lab's application services: what the app and the command lines share beyond the maths.

`nn/` is the engine: it trains and reads networks and knows nothing of folders, settings or
users. This package is what turns it into an application. What it owns, by module:

- `locations`: where things are kept (the one reader of the environment variables that move them);
- `database`: the run store's SQLite file, its schema and migrations, shared by the three stores:
  - `runs`: the ONE owner of trained models' files, names, times, and the active one;
  - `journal`: every job and its state, and the checkpoints interrupted trainings resume from;
  - `sweep_store`: every sweep's grid and the jobs of its points;
- `tasks` and `job_states`: what a job does, and the states it goes through;
- `jobs`, `worker` and `messages`: the local runner, its worker processes and what they say to
  each other; `cluster`: the same jobs on a Dask cluster;
- `sweeps`: grids of runs; `finetune`: teaching a model the user's digits (`user_digits`).

May import: the engine (`nn`), NumPy, threadpoolctl, and Dask (only in `cluster`). Never the UI.
"""

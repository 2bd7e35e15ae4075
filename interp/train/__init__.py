"""Training layer: the DCGAN training loop, its data feed, distributed set-up and the default models.

    from interp.train.trainer import TrainConfig, Trainer
    Trainer(TrainConfig(data="rooms", out="runs/r"), images).run()

``python -m interp.train`` is the training command (:mod:`interp.cli.train`).
"""

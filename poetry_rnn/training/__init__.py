"""The models and their training: the autoencoders, the windows as tensors, the engine, data parallelism."""

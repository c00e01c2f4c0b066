"""DCGAN: models, data, training loop, metrics, checkpoints, sampling and latent tools.

Imports only torch, torchvision, numpy and Pillow: runs on a GPU machine with nothing else.
"""

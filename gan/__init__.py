"""DCGAN: models, data, training loop, metrics, checkpoints, sampling and latent tools.

Imports only torch, torchvision, numpy and Pillow (+ stdlib); the one exception is
`safetensors`, imported lazily by gan/checkpoint.py because weights are stored as safetensors
(docs/architecture.md). `import gan` does no work; import the submodules you need.

Public API (for the app, the pipeline and `studio`; details in docs/training.md):

    gan.config.TrainConfig                      the [train] section (dataclass, a comment per field)
    gan.train.train(cfg, data_dir, out_dir, resume=False, init_from=None, on_progress=None,
                    notify_url="", notify_style="auto")
        -> TrainResult(run_dir, step, metrics, checkpoint, best_checkpoint, stopped, total)
    gan.train.resume_config(run_dir)            the config a run started with
    gan.rundir.new_run_dir(runs_dir, desc)      the next numbered run folder (never reused)
    gan.rundir.read_run_record(run_dir)         -> RunRecord(config, data, images, device, …) | None
    gan.rundir.read_metrics(run_dir)            the objects of metrics.jsonl (torn lines skipped)
    gan.state_io.resume_point(run_dir)          -> ResumePoint(step, total, signal) | None (ended early)
    gan.checkpoint.resolve_checkpoint(path)     run / checkpoint / models/current.json → checkpoint
    gan.sampling.load_generator(path, device)   -> (G_ema in eval mode, cfg)
    gan.sampling.load_discriminator(path, device)
    gan.sampling.sample_grid(G, n, seed, truncation)        -> PIL image (deterministic)
    gan.sampling.latents(n, seed, z_dim, truncation) / generate(G, z) -> uint8 (N, 3, R, R)
    gan.sampling.interpolate(G, seed_a, seed_b, steps) -> frames; save_strip / save_gif
    gan.latent.project(G, target, D) -> Projection(z, image, loss, history)
    gan.latent.pca_directions(G, n, k) -> Directions; label_direction(z, labels); edit(z, dir, amounts)
    gan.latent.project_each(G, images) -> (z, mse); label_directions(z, labels) -> Directions
    gan.latent.save_directions(path, dirs) / load_directions(path, z_dim)   JSON, for the app
    gan.sampling.interpolate_latents(G, za, zb, steps) -> frames
    gan.sampling.latent_batch(n, seed, z_dim, t) / images_of(G, z) / grid_of(images)   numpy, for the app:
        float32 (N, z_dim) latents, uint8 (N, R, R, 3) images; nearest_training_image(image, reals)
    gan.latent.move(z, dirs, amounts) / along(z, dir, amount) / tagged_direction(z, rows)   numpy
    gan.latent.project_image(G, image, D) -> ImageProjection(z, rms)   numpy / PIL in
    gan.completion.hole_mask / masked_image / complete_image(G, D, image, hole, on_step=…)
        -> CompletedImage(generated, composite, blended, loss), uint8 (R, R, 3)
    gan.sanity.sanity_check(cfg, data_dir, work_dir) -> SanityResult(passed, verdict, …)
    gan.notify.notify(url, msg, style) ; train_message(event, run_dir, …)   Slack / Discord / JSON
    gan.completion.make_mask(kind, R) ; complete(G, D, image, hole) -> Completion
    gan.metrics.swd(real, fake) ; fid_kid(...) ; memorization(fake, train, threshold)
    gan.losses.d_loss / g_loss (ns, hinge, rpgan) ; gradient_penalty(D, x)   zero-centred R1 / R2
    gan.augment.diff_augment(x, ops, gen, p) ; AdaptiveP                      DiffAugment, ADA's p
    gan.errors.GanError                         user-caused errors (one line in `studio`)
"""

import os

# PyTorch's CPU wheels use GNU OpenMP, whose idle threads spin at every barrier by default. On a
# CPU shared with anything else (a second process, the studio's own MongoDB and workers, a busy
# laptop) the spinning threads steal the cores the work needs: measured on 2 cores with one other
# busy process, 50 DCGAN steps at 32 px took 55 s instead of 1.6 s (docs/training.md, "CPU
# threads"). Passive threads sleep instead. It must be set before torch loads OpenMP, so it is set
# here, by the package every torch user in the studio imports first; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


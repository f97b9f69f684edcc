"""What every layer shares: params (config), registries, runtime, tracking, progress, data I/O, numerics."""

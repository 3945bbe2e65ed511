"""The on-prem edge poller: reads ZKTeco devices with pyzk, buffers on disk, pushes to the cloud."""

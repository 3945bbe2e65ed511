"""Device registry and health: registering and changing devices, their state, silent-device alerts."""

"""What the machine API and the pages share as a web process: request dependencies, health, metrics."""

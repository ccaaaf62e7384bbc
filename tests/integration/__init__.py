"""Integration tier: the real serving stack, the emulator and the CI workflows."""

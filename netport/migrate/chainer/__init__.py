"""Rules for the Chainer 5+ target; ``api`` holds the version tables they consult."""

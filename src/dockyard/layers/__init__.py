"""Layer tars: compression, one-pass scanning (diff ID, sizes), safe application, writing and diffing trees."""

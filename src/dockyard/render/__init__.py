"""Front-end rendering: Go templates for --format, docker's tabwriter, sizes and durations."""

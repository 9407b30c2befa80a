"""Pull and push: scheduling, concurrency, resume, verification and progress events."""

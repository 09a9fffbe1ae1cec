"""The RabbitMQ worker that speaks the elastic.io sailor protocol (see ``crypto`` for now)."""

"""The coope daemon: storage, services and the HTTP/websocket transport around them."""

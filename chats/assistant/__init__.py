"""The service assistant (the shop bot): its knowledge base, its matcher, and the phishing guard on links."""

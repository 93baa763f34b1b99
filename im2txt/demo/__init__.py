"""How the demo model (model/ here, shipped as package data) was made: scenes, training, scores."""

"""What several test modules share: helpers, never tests. Test modules import only from here."""

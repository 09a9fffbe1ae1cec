"""The Billwerk sandbox: OAuth2 client credentials, bare-array lists with skip/take/from, orders."""

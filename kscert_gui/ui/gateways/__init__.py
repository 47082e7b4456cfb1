"""Distribution points and connection gateways: dialogs and the reconnect flow (DESIGN §7)."""

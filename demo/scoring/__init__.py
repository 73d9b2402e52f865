"""The demo's commissions: formation, sittings, sheets, decisions and signatures."""

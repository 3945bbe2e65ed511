"""Delivery of queued punches to the HR/CRM system."""

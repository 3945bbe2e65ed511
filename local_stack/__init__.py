"""Run the whole system on one machine: moto as AWS, the real handlers, a mock CRM."""

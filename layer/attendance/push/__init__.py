"""Devices that push: the ZKTeco ADMS and Hikvision event protocols, parsed into punch submissions."""

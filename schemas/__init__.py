"""The contract: inbound events, outbound messages, reference data and target values.

Publishers in other languages read the JSON Schema generated from these models
(``schemas/json/``); everything in capmon imports them from here.
"""

"""us-east-1 list prices the cost figures use (AWS price pages; check them before quoting a figure)."""

PRICES_AS_OF = "2026-11"
PRICE = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm": 0.0000133334,
    "http_api_request": 1.00 / 1e6,  # per 512 KB of request
    "sqs_request": 0.40 / 1e6,  # per 64 KB of payload
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
    "dynamodb_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
    "logs_gb": 0.50,
    "xray_trace": 5.00 / 1e6,  # recorded
    "websocket_message": 1.00 / 1e6,  # per 32 KB unit, in or out
    "websocket_connection_minute": 0.25 / 1e6,
}

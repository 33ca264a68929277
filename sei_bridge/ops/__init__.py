"""Operations: metrics, health and status for IT operations."""

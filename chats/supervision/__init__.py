"""Supervision for owners and supervisors: chat monitoring, exports, staffing and the live wall."""

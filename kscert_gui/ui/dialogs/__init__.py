"""Dialogs: Reissue certificate, Certificate (other certificate), viewer, export."""

"""es strings for notification e-mails (keys must match en.py)."""

# Translated text: typographic punctuation is intended, and a sentence stays on one line.
# ruff: noqa: RUF001, E501

STRINGS: dict[str, str] = {
    "greeting": "Hola, {name}:",
    "footer": "SignUpFlow envió este mensaje en nombre de {organisation}.",
    "shift_line": "{date} {start}–{end} ({timezone}): {event}, {role}",
    "location": "Lugar: {location}",
    "schedule_published.subject": "{organisation}: ya está publicado el nuevo calendario",
    "schedule_published.body": "Se ha publicado un nuevo calendario. Tus turnos:",
    "assignment_changed.subject.assigned": "{organisation}: tienes un turno en {event}",
    "assignment_changed.subject.updated": "{organisation}: ha cambiado tu turno en {event}",
    "assignment_changed.subject.cancelled": "{organisation}: se ha cancelado tu turno en {event}",
    "assignment_changed.body.assigned": "Te han asignado este turno:",
    "assignment_changed.body.updated": "Tu turno ha cambiado. Ahora es:",
    "assignment_changed.body.cancelled": "Este turno se ha cancelado; ya no te esperamos:",
    "shift_reminder.subject": "Recordatorio: {event} el {date} a las {start}",
    "shift_reminder.body": "Te recordamos tu próximo turno:",
    "invitation.subject": "Te invitan a unirte a {organisation} en SignUpFlow",
    "invitation.body": "{organisation} te invita a apuntarte a su calendario de voluntariado. Acepta la invitación aquí (el enlace caduca el {expires}):",
    "password_reset.subject": "Restablece tu contraseña de SignUpFlow",
    "password_reset.body": "Alguien ha pedido restablecer la contraseña de tu cuenta. Para elegir una nueva, abre este enlace en los próximos {minutes} minutos:",
    "password_reset.ignore": "Si no lo has pedido tú, ignora este mensaje: tu contraseña no cambia.",
}

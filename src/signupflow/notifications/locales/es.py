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
    "greeting_plain": "Hola:",
    "footer_plain": "Este mensaje lo ha enviado SignUpFlow.",
    "signup_confirm.subject": "Confirma tu registro en SignUpFlow",
    "signup_confirm.body": "Para terminar de crear {organisation} en SignUpFlow, confirma tu dirección de correo abriendo este enlace en las próximas {hours} horas:",
    "signup_confirm.ignore": "Si no te has registrado, ignora este mensaje: no se creará nada.",
    "signup_existing.subject": "Ya tienes una cuenta en SignUpFlow",
    "signup_existing.body": "Alguien, probablemente tú, ha intentado registrarse en SignUpFlow con esta dirección, que ya tiene una cuenta. Inicia sesión aquí:",
    "signup_existing.reset": "Si has olvidado tu contraseña, elige una nueva aquí:",
    "signup_existing.ignore": "Si no has sido tú, ignora este mensaje: no ha cambiado nada.",
}

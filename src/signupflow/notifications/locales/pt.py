"""pt strings for notification e-mails (keys must match en.py)."""

# Translated text: typographic punctuation is intended, and a sentence stays on one line.
# ruff: noqa: RUF001, E501

STRINGS: dict[str, str] = {
    "greeting": "Olá, {name},",
    "footer": "Esta mensagem foi enviada pelo SignUpFlow em nome de {organisation}.",
    "shift_line": "{date} {start}–{end} ({timezone}): {event}, {role}",
    "location": "Local: {location}",
    "schedule_published.subject": "{organisation}: a nova escala foi publicada",
    "schedule_published.body": "Foi publicada uma nova escala. Os seus turnos:",
    "assignment_changed.subject.assigned": "{organisation}: está escalado(a) para {event}",
    "assignment_changed.subject.updated": "{organisation}: o seu turno em {event} mudou",
    "assignment_changed.subject.cancelled": "{organisation}: o seu turno em {event} foi cancelado",
    "assignment_changed.body.assigned": "Foi escalado(a) para este turno:",
    "assignment_changed.body.updated": "O seu turno mudou. Agora é:",
    "assignment_changed.body.cancelled": "Este turno foi cancelado; já não é esperado(a):",
    "shift_reminder.subject": "Lembrete: {event} em {date} às {start}",
    "shift_reminder.body": "Um lembrete do seu próximo turno:",
    "invitation.subject": "Foi convidado(a) a juntar-se a {organisation} no SignUpFlow",
    "invitation.body": "{organisation} convida-o(a) para a sua escala de voluntários. Aceite o convite aqui (a ligação expira em {expires}):",
    "password_reset.subject": "Redefina a sua palavra-passe do SignUpFlow",
    "password_reset.body": "Alguém pediu para redefinir a palavra-passe da sua conta. Para escolher uma nova, abra esta ligação nos próximos {minutes} minutos:",
    "password_reset.ignore": "Se não foi você que pediu, ignore esta mensagem: a sua palavra-passe mantém-se.",
    "greeting_plain": "Olá,",
    "footer_plain": "Esta mensagem foi enviada pelo SignUpFlow.",
    "signup_confirm.subject": "Confirme o seu registo no SignUpFlow",
    "signup_confirm.body": "Para terminar de criar {organisation} no SignUpFlow, confirme o seu endereço de e-mail abrindo esta ligação nas próximas {hours} horas:",
    "signup_confirm.ignore": "Se não se registou, ignore esta mensagem: nada será criado.",
    "signup_existing.subject": "Já tem uma conta no SignUpFlow",
    "signup_existing.body": "Alguém, provavelmente você, tentou registar-se no SignUpFlow com este endereço, que já tem uma conta. Inicie sessão aqui:",
    "signup_existing.reset": "Se se esqueceu da palavra-passe, escolha uma nova aqui:",
    "signup_existing.ignore": "Se não foi você, ignore esta mensagem: nada mudou.",
}

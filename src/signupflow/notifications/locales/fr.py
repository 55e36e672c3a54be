"""fr strings for notification e-mails (keys must match en.py)."""

# Translated text: typographic punctuation is intended, and a sentence stays on one line.
# ruff: noqa: RUF001, E501

STRINGS: dict[str, str] = {
    "greeting": "Bonjour {name},",
    "footer": "Ce message a été envoyé par SignUpFlow pour le compte de {organisation}.",
    "shift_line": "{date} {start}–{end} ({timezone}) : {event}, {role}",
    "location": "Lieu : {location}",
    "schedule_published.subject": "{organisation} : le nouveau planning est publié",
    "schedule_published.body": "Un nouveau planning a été publié. Vos créneaux :",
    "assignment_changed.subject.assigned": "{organisation} : vous êtes inscrit(e) pour {event}",
    "assignment_changed.subject.updated": "{organisation} : votre créneau pour {event} a changé",
    "assignment_changed.subject.cancelled": "{organisation} : votre créneau pour {event} est annulé",
    "assignment_changed.body.assigned": "Vous êtes inscrit(e) pour ce créneau :",
    "assignment_changed.body.updated": "Votre créneau a changé. Le voici :",
    "assignment_changed.body.cancelled": "Ce créneau est annulé ; vous n'êtes plus attendu(e) :",
    "shift_reminder.subject": "Rappel : {event} le {date} à {start}",
    "shift_reminder.body": "Un rappel de votre prochain créneau :",
    "invitation.subject": "Vous êtes invité(e) à rejoindre {organisation} sur SignUpFlow",
    "invitation.body": "{organisation} vous invite à rejoindre son planning de bénévoles. Acceptez l'invitation ici (le lien expire le {expires}) :",
    "password_reset.subject": "Réinitialisez votre mot de passe SignUpFlow",
    "password_reset.body": "Quelqu'un a demandé à réinitialiser le mot de passe de votre compte. Pour en choisir un nouveau, ouvrez ce lien dans les {minutes} minutes :",
    "password_reset.ignore": "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.",
    "greeting_plain": "Bonjour,",
    "footer_plain": "Ce message a été envoyé par SignUpFlow.",
    "signup_confirm.subject": "Confirmez votre inscription à SignUpFlow",
    "signup_confirm.body": "Pour terminer la création de {organisation} sur SignUpFlow, confirmez votre adresse e-mail en ouvrant ce lien dans les {hours} heures :",
    "signup_confirm.ignore": "Si vous ne vous êtes pas inscrit, ignorez ce message : rien ne sera créé.",
    "signup_existing.subject": "Vous avez déjà un compte SignUpFlow",
    "signup_existing.body": "Quelqu'un, probablement vous, a essayé de s'inscrire à SignUpFlow avec cette adresse, qui a déjà un compte. Connectez-vous plutôt ici :",
    "signup_existing.reset": "Si vous avez oublié votre mot de passe, choisissez-en un nouveau ici :",
    "signup_existing.ignore": "Si ce n'était pas vous, ignorez ce message : rien n'a changé.",
}

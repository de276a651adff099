"""Command words in the five languages, matched without regard to case or accents."""

import re
import unicodedata

LANGUAGES = ("en", "es", "fr", "ht", "pt")

# A first message that is one of these starts a conversation in that language.
START_WORDS = {
    "en": {"REPORT", "HELLO", "HI"},
    "es": {"REPORTE", "REPORTAR", "HOLA", "DENUNCIA"},
    "fr": {"SIGNALER", "SIGNALEMENT", "BONJOUR", "ALLO"},
    "ht": {"RAPO", "RAPOTE", "BONJOU", "ALO"},
    "pt": {"DENUNCIAR", "OLA", "RELATO"},
}
# Carriers' standard opt-out words and their equivalents.
STOP_WORDS = {
    "en": {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT"},
    "es": {"PARAR", "ALTO", "BAJA", "DETENER"},
    "fr": {"ARRET", "ARRETER", "DESABONNER"},
    "ht": {"KANPE", "SISPANN"},
    "pt": {"PARE", "SAIR"},
}
RESUME_WORDS = {
    "en": {"START", "UNSTOP"},
    "es": {"COMENZAR", "REANUDAR"},
    "fr": {"DEBUT", "REPRENDRE"},
    "ht": {"KOMANSE", "REKOMANSE"},
    "pt": {"COMECAR", "VOLTAR"},
}
HELP_WORDS = {"en": {"HELP", "INFO"}, "es": {"AYUDA"}, "fr": {"AIDE"}, "ht": {"ED", "EDE"}, "pt": {"AJUDA"}}
STATUS_WORDS = {
    "en": {"STATUS"},
    "es": {"ESTADO"},
    "fr": {"STATUT", "SUIVI"},
    "ht": {"ETA", "SWIV"},
    "pt": {"SITUACAO"},
}
LANGUAGE_WORDS = {"LANG", "LANGUAGE", "IDIOMA", "LANGUE"}
SKIP_WORDS = {"SKIP", "OMITIR", "SALTAR", "PASSER", "SOTE", "PULAR", "NO SE", "NOSE", "0"}
YES_WORDS = {"YES", "Y", "SI", "OUI", "WI", "SIM", "S"}
NO_WORDS = {"NO", "N", "NON", "NAO", "NI"}
LANGUAGE_NAMES = {
    "EN": "en", "ENGLISH": "en", "INGLES": "en", "ANGLAIS": "en", "ANGLE": "en",
    "ES": "es", "ESPANOL": "es", "SPANISH": "es", "ESPAGNOL": "es", "PANYOL": "es", "ESPANHOL": "es",
    "FR": "fr", "FRANCAIS": "fr", "FRENCH": "fr", "FRANCES": "fr", "FRANSE": "fr",
    "HT": "ht", "KREYOL": "ht", "CREOLE": "ht", "CRIOLLO": "ht", "CREOLE HAITIEN": "ht", "KREYOL AYISYEN": "ht",
    "PT": "pt", "PORTUGUES": "pt", "PORTUGUESE": "pt", "PORTUGAIS": "pt", "POTIGE": "pt",
}  # fmt: skip


def fold(text: str) -> str:
    """Upper case, accents removed, punctuation turned into spaces, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", plain.upper()).split())


def language_of(word: str, table: dict[str, set[str]]) -> str | None:
    for language, words in table.items():
        if word in words:
            return language
    return None

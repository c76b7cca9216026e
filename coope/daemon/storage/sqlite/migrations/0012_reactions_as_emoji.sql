-- Reactions in one form each: those older clients stored as short codes (`:thumbsup:`) become
-- their emoji, and a bare ❤ the ❤️ (`coope.core.emoji.stored_form`), as reactions are stored
-- now; the same reaction stored both ways is kept once. Whatever else was stored (an unknown
-- short code, plain text) stays as it is, still shown and still taken back as it is.

-- python: reactions_as_emoji

"""split_book over small synthetic Project Gutenberg poetry books, one for each layout a reader meets."""

from __future__ import annotations

import pytest

from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.inputs.gutenberg import is_gutenberg, read_book, split_book
from poetry_rnn.inputs.tokenize import tokenize

LICENCE = "Redistribution is subject to the Project Gutenberg License; see the FULL LICENSE below."


def book(body: str, style: str = "THE", author: str = "Jane Poet") -> str:
    """body wrapped in a Gutenberg header, START/END markers (style "THIS" or "THE") and a licence footer."""
    return (
        f"The Project Gutenberg EBook of Poems, by {author}\n\n"
        "This eBook is for the use of anyone anywhere at no cost.\n\n"
        f"Title: Poems\n\nAuthor: {author}\n\nRelease Date: May 3, 2004 [EBook #99999]\n\n"
        f"*** START OF {style} PROJECT GUTENBERG EBOOK POEMS ***\n\n\n\n"
        "Produced by A Volunteer and the Online Distributed Proofreading Team\n\n\n\n"
        + body
        + f"\n\n\n\nEnd of Project Gutenberg's Poems, by {author}\n\n"
        f"*** END OF {style} PROJECT GUTENBERG EBOOK POEMS ***\n\n"
        "***** This file should be named 99999.txt *****\n\n"
        "*** START: FULL LICENSE ***\n\nTHE FULL PROJECT GUTENBERG LICENSE\n\n" + LICENCE + "\n"
    )


# Words of the front and back matter, licence and headings: none may be in a poem's text.
NOT_POETRY = ["Gutenberg", "License", "Produced", "Volunteer", "eBook", "CONTENTS", "INDEX", "PREFACE", "NOTES"]


def poems_of(body: str, style: str = "THE", name: str = "pg99999.txt", drama: str = "keep") -> list[tuple[str, str]]:
    """The (title, text) poems split_book finds in body, checked free of front matter and licence words."""
    author, poems = split_book(book(body, style), name, drama)
    assert author == "Jane Poet"
    for title, text in poems:
        assert text and text == text.strip("\n") and "\n\n\n" not in text, (title, text)
        assert all(line == line.rstrip() for line in text.split("\n"))
        for word in NOT_POETRY:
            assert word not in text, (word, title, text)
    return poems


def free_of(poems: list[tuple[str, str]], *phrases: str) -> None:
    """No poem's text holds any of phrases."""
    for title, text in poems:
        for phrase in phrases:
            assert phrase not in text, (phrase, title)


# ---- Roman numerals with a period, under section headings, some poems with an ALL-CAPS title -------

ROMAN_PERIOD = """\
POEMS

by JANE POET



Edited by two of her friends

ANN EDITOR and BOB EDITOR



PREFACE.

These verses were found in a drawer after her death, and they are printed
here with very few changes; the titles were given by the editors, who
thought it best to leave the rest of the text as she wrote it.

The editors thank the family for the loan of the manuscripts.

      ---A. E.



TRANSCRIBER'S NOTE

The facsimile of one poem is transcribed here as written:

There came a day at summer's full
Entirely for me;

This transcription may be compared with the edited version below.



    This is my letter to the world,
       That never wrote to me.



I. LIFE.


I.

SUCCESS.

[Published in "A Gazette"
at the request of a friend.]

Success is counted sweetest
By those who ne'er succeed.



II.

Our share of night to bear,
Our share of morning.

  *  *  *

Here a star, and there a star.
III.

The heart asks pleasure first,
And then, excuse from pain.


II. LOVE.

I.

Mine by the right of the white election!
Mine by the royal seal!

II.

FORBIDDEN FRUIT.

I.

Forbidden fruit a flavor has
That lawful orchards mocks.

III.

FORBIDDEN FRUIT.

II.

Heaven is what I cannot reach!
"""


@pytest.mark.parametrize("style", ["THIS", "THE"])
def test_roman_numerals_with_period_under_sections_with_caps_titles(style):
    poems = poems_of(ROMAN_PERIOD, style)
    assert [title for title, _ in poems] == [
        "SUCCESS",
        "Our share of night to bear,",
        "The heart asks pleasure first,",  # its numeral ran into the poem above, no blank line
        "Mine by the right of the white election!",
        "FORBIDDEN FRUIT",
        "FORBIDDEN FRUIT",
    ]
    assert poems[0][1] == "Success is counted sweetest\nBy those who ne'er succeed."  # editorial note gone
    assert poems[1][1] == "Our share of night to bear,\nOur share of morning.\n\nHere a star, and there a star."
    assert poems[5][1] == "Heaven is what I cannot reach!"
    free_of(
        poems,
        "drawer",
        "editors",
        "facsimile",
        "summer's full",
        "letter to the world",
        "LIFE",
        "LOVE",
        "Edited",
        "EDITOR",
        "---",
        "*",
        "[",
        "SUCCESS",
        "FORBIDDEN",
    )


# ---- Roman numerals alone, no period, after an index of first lines ------------------------------

ROMAN_BARE = """\
Transcribed from the 1906 Caradoc Press edition by A Volunteer

                          [Picture: Book cover]

                             SONNETS FROM THE
                                 NOWHERE

                                * * * * *

                                    BY
                                JANE POET

INDEX OF FIRST LINES

          I  I thought once how Theocritus had sung
         II  But only three in all God's universe
        III  Unlike are we, unlike, O princely Heart!




I


   I thought once how Theocritus had sung
   Of the sweet years, the dear and wished-for years,
   Who each one in a gracious hand appears
   To bear a gift for mortals, old or young.




II


   But only three in all God's universe
   Have heard this word thou hast said, Himself, beside
   Thee speaking, and me listening! and replied
   One of us . . . that was God.




III


   Unlike are we, unlike, O princely Heart!
   Unlike our uses and our destinies.
"""


def test_roman_numerals_alone_without_period_after_an_index_of_first_lines():
    poems = poems_of(ROMAN_BARE)
    assert [title for title, _ in poems] == [
        "I thought once how Theocritus had sung",
        "But only three in all God's universe",
        "Unlike are we, unlike, O princely Heart!",
    ]
    assert poems[2][1] == "Unlike are we, unlike, O princely Heart!\nUnlike our uses and our destinies."
    free_of(poems, "Caradoc", "Picture", "SONNETS", "BY", "  I  ")


# ---- a long prose introduction, then indented Roman numerals; some poems carry a title line ------

INTRODUCTION = """\
The method of the poems in this little book illustrates better than any
theory how poetry may assume the attire of reality, and yet in speech of
the simplest, become in spirit the sheer quality of loveliness. For, in
these unobtrusive pages, there is nothing shunned which makes the show.

What has been called the bitterness of these poems is really nothing
more than the ability to etch in sharp tones the actualities of life.
The poet himself is never cynical; his joyousness is all too apparent
in the very manner and intensity of expression."""

INDENTED_ROMAN = f"""\
A SHROPSHIRE LAD

By Jane Poet

Introduction by John Critic

1919




INTRODUCTION


{INTRODUCTION}


JOHN CRITIC





A SHROPSHIRE LAD



          I

          1887

          From Clee to heaven the beacon burns,
           The shires have seen it plain,
          From north and south the sign returns
           And beacons burn again.



          II

          Loveliest of trees, the cherry now
          Is hung with bloom along the bough,

          And stands about the woodland ride
          Wearing white for Eastertide.



          III

          THE RECRUIT

          Leave your home behind, lad,
           And reach your friends your hand,
          And go, and luck go with you
           While Ludlow tower shall stand.
"""


def test_indented_roman_numerals_after_a_prose_introduction():
    poems = poems_of(INDENTED_ROMAN)
    assert [title for title, _ in poems] == [
        "From Clee to heaven the beacon burns,",
        "Loveliest of trees, the cherry now",
        "THE RECRUIT",
    ]
    assert poems[1][1] == (  # common indentation removed, stanzas kept
        "Loveliest of trees, the cherry now\nIs hung with bloom along the bough,\n\n"
        "And stands about the woodland ride\nWearing white for Eastertide."
    )
    assert poems[0][1].split("\n")[1] == " The shires have seen it plain,"  # relative indentation kept
    free_of(poems, "method", "cynical", "CRITIC", "Critic", "SHROPSHIRE", "1887", "1919", "RECRUIT")


# ---- Arabic numbers ------------------------------------------------------------------------------

ARABIC = """\
PREFACE

These songs were written over many years, in many places, and they are
gathered here in the order in which they were written, without any other
arrangement than that of the calendar on the wall of the study.


1.

The sea is wide, the sea is deep,
And all the little fishes sleep.


2.

Over the hill the sun goes down,
Over the hill and over the town.

Nobody knows where the sun goes down.


3.

Here is the end of the little songs,
Here is the place where the singer belongs.
"""


def test_arabic_numbers():
    poems = poems_of(ARABIC)
    assert [title for title, _ in poems] == [
        "The sea is wide, the sea is deep,",
        "Over the hill the sun goes down,",
        "Here is the end of the little songs,",
    ]
    assert poems[1][1].count("\n\n") == 1
    free_of(poems, "calendar", "1.", "2.")


# ---- ALL-CAPS titles under sections; a long poem in numbered parts; a play; notes at the end ------

CAPS_TITLES = """\
THE COMPLETE POETICAL WORKS OF JANE POET



CONTENTS.
EARLY POEMS.
        The Rainy Day
        Twilight
THE SONG OF THE LAKE.
           I.  The Calling
          II.  The Answer
LATER POEMS.
        The Fire of Drift-Wood
        A Psalm of Life
THE MASQUE OF THE SEASONS.
NOTES.




EARLY POEMS

THE RAINY DAY

The day is cold, and dark, and dreary;
It rains, and the wind is never weary;
The vine still clings to the mouldering wall,
But at every gust the dead leaves fall.


TWILIGHT

The twilight is sad and cloudy,
  The wind blows wild and free,
And like the wings of sea-birds
  Flash the white caps of the sea.



THE SONG OF THE LAKE

I

THE CALLING

Should you ask me, whence these stories?
Whence these legends and traditions,
With the odors of the forest?

II

THE ANSWER

I should answer, I should tell you,
From the forests and the prairies,
From the great lakes of the Northland.



LATER POEMS

THE FIRE OF DRIFT-WOOD

DEVEREUX FARM, NEAR MARBLEHEAD

We sat within the farm-house old,
  Whose windows, looking o'er the bay,
Gave to the sea-breeze damp and cold
  An easy entrance, night and day.


A PSALM OF LIFE
WHAT THE HEART OF THE YOUNG MAN SAID

Tell me not, in mournful numbers,
  Life is but an empty dream!
For the soul is dead that slumbers,
  And things are not what they seem.



THE MASQUE OF THE SEASONS

ACT I.

SCENE I. -- A hall in the castle of the Winter King.  Night.  The King
sitting alone by the fire, and the Queen at the window.

THE KING.
Is thy work done, my daughter of the snow?

THE QUEEN.
It is finished, and the frost is on the hill.

THE KING.
Then let the Spring come in.



NOTES

Page 12. The Rainy Day was written in the autumn of the year, when the
author was staying in the country, and it was first printed in a magazine
together with the lines that follow, which the author left out later:

  Be still, sad heart, and cease repining;
  Behind the clouds is the sun still shining.

The farm-house of the Fire of Drift-Wood stood by the sea near Marblehead,
and the author visited it often with his friends in the summer.
"""


def test_caps_titles_sections_numbered_parts_plays_and_notes():
    poems = poems_of(CAPS_TITLES, drama="skip")
    assert [title for title, _ in poems] == [
        "THE RAINY DAY",
        "TWILIGHT",
        "THE SONG OF THE LAKE, I. THE CALLING",  # a poem in numbered parts: one poem per part, carrying the title
        "THE SONG OF THE LAKE, II. THE ANSWER",
        "THE FIRE OF DRIFT-WOOD",  # the contents name it; the place line under it is a subtitle
        "A PSALM OF LIFE",
    ]
    assert poems[2][1].startswith("Should you ask me") and poems[3][1].startswith("I should answer")
    assert poems[5][1].startswith("Tell me not")
    free_of(
        poems,
        "Twilight\n",
        "EARLY",
        "LATER",
        "DEVEREUX",
        "WHAT THE HEART",
        "KING",
        "QUEEN",
        "SCENE",
        "daughter of the snow",
        "Be still, sad heart",
        "Page 12",
        "Marblehead",
    )


def test_a_verse_play_is_kept_by_default_one_poem_per_scene_without_speakers_or_stage_directions():
    poems = poems_of(CAPS_TITLES)
    assert [title for title, _ in poems][-1] == "THE MASQUE OF THE SEASONS, ACT I"
    assert poems[-1][1] == ("Is thy work done, my daughter of the snow?\n\n"
                            "It is finished, and the frost is on the hill.\n\nThen let the Spring come in.")
    assert len(poems) == len(poems_of(CAPS_TITLES, drama="skip")) + 1


# ---- Title Case headings named in a contents list; a prologue poem before it; a dedication -------

TITLE_CASE_CONTENTS = """\
NORTH OF NOWHERE

By Jane Poet




          TO
          E. M. F.
          THIS BOOK OF PEOPLE




THE PASTURE

        I'm going out to clean the pasture spring;
        I'll only stop to rake the leaves away
        I sha'n't be gone long.--You come too.


CONTENTS

         Mending Fences
         The Hired Hand
         After Apple-picking




Mending Fences

    Something there is that doesn't love a wall,
    That sends the frozen-ground-swell under it,
    And spills the upper boulders in the sun.
    "Stay where you are until our backs are turned!"
    He says again, "Good fences make good neighbours."




The Hired Hand

    Mary sat musing on the lamp-flame at the table
    Waiting for Warren. When she heard his step,
    "Warren!"
    "But did he? I just want to know."
    "Home," he mocked gently.
    "Dead," was all he answered.




After Apple-picking

    My long two-pointed ladder's sticking through a tree
    Toward heaven still,
    And there's a barrel that I didn't fill
    Beside it, and there may be two or three
    Apples I didn't pick upon some bough.
"""


def test_title_case_headings_named_in_contents_with_prologue_and_dedication():
    poems = poems_of(TITLE_CASE_CONTENTS)
    assert [title for title, _ in poems] == ["THE PASTURE", "Mending Fences", "The Hired Hand", "After Apple-picking"]
    assert poems[2][1].split("\n")[2] == '"Warren!"'  # short dialogue lines stay inside the poem
    assert poems[3][1].startswith("My long two-pointed ladder's")
    free_of(poems, "NORTH OF NOWHERE", "By Jane", "E. M. F.", "BOOK OF PEOPLE", "The Hired Hand\n")


# ---- Title Case headings with no contents list: set apart by wider gaps than stanzas --------------

TITLE_CASE_SPACED = """\
Songs of the Road



Morning on the Hill

The lark is up, the dew is bright,
The road runs down into the light.

All Along the Road

The wagons roll, the horses go,
The miller sings his song below.



Evening at the Inn

The fire is warm, the ale is brown,
The stars are out above the town.



The Last Mile

Home at last, and the door is wide,
And the old dog waits by the fire inside.
"""


def test_title_case_headings_set_apart_by_wider_gaps():
    poems = poems_of(TITLE_CASE_SPACED)
    assert [title for title, _ in poems] == ["Morning on the Hill", "Evening at the Inn", "The Last Mile"]
    # a Title Case line with a stanza's single blank line around it is a line of the poem, not a heading
    assert "\n\nAll Along the Road\n\n" in poems[0][1]


# ---- names as headings, learned from a contents list of names; headings indented like the verse --

NAMES = """\
  Spoon River Anthology

  by Jane Poet




  Contents:

  Hill, The

  McGee, Fletcher
  McGee, Ollie

  Petit, the Poet
  Putt, Hod

  Ross, Thomas, Ir.




  The Hill

  Where are Elmer, Herman, Bert, Tom and Charley,
  The weak of will, the strong of arm, the clown?
  All, all are sleeping on the hill.

  One passed in a fever,
  One was burned in a mine.



  Hod Putt

  HERE I lie close to the grave
  Of Old Bill Piersol,
  Who grew rich trading with the Indians.



  Ollie McGee

  Have you seen walking through the village
  A man with downcast eyes and haggard face?
  In death, therefore, I am avenged.
  Fletcher McGee
  She took my strength by minutes,
  She took my life by hours.



  Petit, the Poet

  Seeds in a dry pod, tick, tick, tick,
  Tick, tick, tick, like mites in a quarrel.



  Thomas Ross, Jr.

  THIS I saw with my own eyes:
  A cliff-swallow made her nest in a hole of the high clay bank.
"""


def test_name_headings_learned_from_a_contents_list():
    poems = poems_of(NAMES)
    assert [title for title, _ in poems] == [
        "The Hill",
        "Hod Putt",
        "Ollie McGee",
        "Fletcher McGee",  # its name ran into the poem above, with no blank line around it
        "Petit, the Poet",
        "Thomas Ross, Jr",  # the contents misspell it "Ross, Thomas, Ir."
    ]
    assert poems[2][1].endswith("In death, therefore, I am avenged.")
    assert poems[0][1].startswith("Where are Elmer")  # common indentation removed
    free_of(poems, "Contents", "McGee, ", "Spoon River", "by Jane")


# ---- books with no findable layout are refused ----------------------------------------------------

UNHEADED = """\
The sea is wide, the sea is deep,
And all the little fishes sleep.

Over the hill the sun goes down,
Over the hill and over the town.

Here is the end of the little songs,
Here is the place where the singer belongs.
"""

PROSE = f"""\
CHAPTER I

{INTRODUCTION}

CHAPTER II

{INTRODUCTION}

CHAPTER III

{INTRODUCTION}
"""


def test_a_book_of_prose_is_refused_saying_no_verse_was_found_and_what_to_do():
    with pytest.raises(PoetryRnnError, match=r"pg99999\.txt: no verse found.*poetry-rnn split.*folder.*\.jsonl"):
        split_book(book(PROSE), "pg99999.txt")


def test_verse_without_any_heading_is_one_poem_not_a_refusal():
    assert poems_of(UNHEADED) == [("The sea is wide, the sea is deep,", UNHEADED.strip())]


def test_a_mostly_prose_book_keeps_its_poem_and_counts_the_prose():
    body = PROSE * 3 + "\n\n\nI\n\nA little song at the end,\nAnd that is all.\n"
    reading = read_book(book(body), "pg99999.txt")
    assert reading.poems == [("A little song at the end,", "A little song at the end,\nAnd that is all.")]
    assert reading.skipped()["prose"] > 10 * sum(section.kept for section in reading.sections)


# ---- markers --------------------------------------------------------------------------------------


def test_is_gutenberg_knows_both_marker_wordings():
    assert is_gutenberg(book("I\n\nA line of verse,\nAnd another.\n", "THIS"))
    assert is_gutenberg(book("I\n\nA line of verse,\nAnd another.\n", "THE"))
    assert is_gutenberg("***START OF THE PROJECT GUTENBERG EBOOK SONNETS***\nI\n\nverse\n")
    assert is_gutenberg("poems\n*** END OF THE PROJECT GUTENBERG EBOOK POEMS ***\n")
    assert not is_gutenberg("The sea is wide,\nThe sea is deep.\n\nProject Gutenberg is mentioned here.\n")


def test_licence_after_the_end_marker_and_header_before_start_are_left_out():
    body = "I\n\nThe sea is wide, the sea is deep,\nAnd all the little fishes sleep.\n"
    author, poems = split_book(book(body, "THIS"), "pg99999.txt")
    assert author == "Jane Poet"
    assert poems == [
        ("The sea is wide, the sea is deep,", "The sea is wide, the sea is deep,\nAnd all the little fishes sleep.")
    ]


# ---- long-line free verse: lines wrapped onto indented continuation lines, a long poem in numbered sections ---

WRAPPED_LONG_LINES = """\
LEAVES OF GRASS

By Jane Poet



  One's-Self I Sing

  One's-Self I sing, a simple separate person,
  Yet utter the word Democratic, the word En-Masse.



  When I Heard the Learn'd Astronomer

  When I heard the learn'd astronomer,
  When the proofs, the figures, were ranged in columns before me,
  When I was shown the charts and diagrams, to add, divide, and measure them,
  When I sitting heard the astronomer where he lectured with much applause
        in the lecture-room,
  How soon unaccountable I became tired and sick,
  Till rising and gliding out I wander'd off by myself,
  In the mystical moist night-air, and from time to time,
  Look'd up in perfect silence at the stars.



  Song of Myself

  1

  I celebrate myself, and sing myself,
  And what I assume you shall assume,
  For every atom belonging to me as good belongs to you.

  I loafe and invite my soul,
  I lean and loafe at my ease observing a spear of summer grass.

  My tongue, every atom of my blood, form'd from this soil, this air,
  Born here of parents born here from parents the same, and their
        parents the same,
  I, now thirty-seven years old in perfect health begin,
  Hoping to cease not till death.

  2

  Houses and rooms are full of perfumes, the shelves are crowded with
        perfumes,
  I breathe the fragrance myself and know it and like it,
  The distillation would intoxicate me also, but I shall not let it.

  The atmosphere is not a perfume, it has no taste of the distillation,
        it is odorless,
  It is for my mouth forever, I am in love with it,
  I will go to the bank by the wood and become undisguised and naked,
  I am mad for it to be in contact with me.

  My respiration and inspiration, the beating of my heart, the passing of
        blood and air through my lungs,
  The sniff of green leaves and dry leaves, and of the shore and
        dark-color'd sea-rocks, and of hay in the barn,
  The delight alone or in the rush of the streets, or along the fields
        and hill-sides,
  The feeling of health, the full-noon trill, the song of me rising
        from bed and meeting the sun.

  3

  I have heard what the talkers were talking, the talk of the
        beginning and the end,
  But I do not talk of the beginning or the end.

  There was never any more inception than there is now,
  Nor any more youth or age than there is now,
  And will never be any more perfection than there is now,
  Nor any more heaven or hell than there is now.
"""


def test_long_lines_wrapped_onto_indented_lines_and_numbered_sections_read_as_verse():
    poems = poems_of(WRAPPED_LONG_LINES)
    # one poem per numbered section, as for other long poems in numbered parts
    assert [text.split("\n")[0] for _, text in poems] == [
        "One's-Self I sing, a simple separate person,",
        "When I heard the learn'd astronomer,",
        "I celebrate myself, and sing myself,",
        "Houses and rooms are full of perfumes, the shelves are crowded with",
        "I have heard what the talkers were talking, the talk of the",
    ]
    assert poems[1][0] == "When I Heard the Learn'd Astronomer"
    assert "      parents the same," in poems[2][1]  # the wrapped line kept as printed
    reading = read_book(book(WRAPPED_LONG_LINES), "pg99999.txt")
    kept = sum(section.kept for section in reading.sections)
    assert kept == sum(len(tokenize(text)) for _, text in reading.poems)
    assert kept + sum(reading.skipped().values()) == reading.body_tokens == len(tokenize(body_of(WRAPPED_LONG_LINES)))
    assert kept > 0.9 * reading.body_tokens


def body_of(body: str) -> str:
    """The text between the START marker and the "End of Project Gutenberg" line of book(body), cut out by hand."""
    text = book(body)
    return text[text.index("***\n") + 4 : text.index("End of Project Gutenberg")]


INLINE_SPEAKERS = """\
THE SPANISH STUDENT

ACT I.

SCENE I. -- A street in Madrid.

  Prec.  How strangely gleams through the gigantic trees
The red light of the forge!  Wild, beckoning shadows
Stalk through the forest, ever and anon.

(BARTOLOME rushes in.)

  Bart.  Ho!  Preciosa!

  Prec.  Thou here?  I did not look for thee tonight.
"""


def test_a_scene_with_speakers_run_into_their_lines_keeps_the_verse_alone():
    assert [text for _, text in poems_of(INLINE_SPEAKERS)] == [
        "How strangely gleams through the gigantic trees\nThe red light of the forge!  Wild, beckoning shadows\n"
        "Stalk through the forest, ever and anon.\n\nHo!  Preciosa!\n\nThou here?  I did not look for thee tonight."]
    with pytest.raises(PoetryRnnError):  # nothing but the play: skipped, no poem is left
        poems_of(INLINE_SPEAKERS, drama="skip")

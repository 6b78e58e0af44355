"""The Gutenberg reader on the layouts it once misread, one small public-domain fixture for each kind of failure:
verse judged prose, a book refused though it holds a poem, a printed book's marks kept as words, poems cut in the
wrong places. Each book is judged by its own layout (poetry_rnn/inputs/layout.py), not by fixed thresholds."""

from __future__ import annotations

import re

from poetry_rnn.inputs.gutenberg import read_book
from poetry_rnn.inputs.layout import measure, unwrap
from poetry_rnn.inputs.tokenize import tokenize
from test_gutenberg import body_of, book, poems_of


def reading(body: str):
    """read_book of body in a Gutenberg book, its accounting checked: poems and skipped tokens make the body."""
    read = read_book(book(body), "pg99999.txt")
    kept = sum(section.kept for section in read.sections)
    assert kept == sum(len(tokenize(text)) for _, text in read.poems)
    assert kept + sum(read.skipped().values()) == read.body_tokens == len(tokenize(body_of(body)))
    return read


def kept_share(body: str) -> float:
    read = reading(body)
    return sum(section.kept for section in read.sections) / read.body_tokens


def lines_of(poems: list[tuple[str, str]]) -> list[str]:
    return [line.strip() for _, text in poems for line in text.split("\n")]


# ---- verse judged prose: long free verse, numbered sections one space deeper, 6-space continuations ----------

FREE_VERSE = """\
LEAVES OF GRASS

By Walt Whitman




     Song of Myself

      5
     I believe in you my soul, the other I am must not abase itself to
      you,
     And you must not be abased to the other.

     Loafe with me on the grass, loose the stop from your throat,
     Not words, not music or rhyme I want, not custom or lecture, not even
      the best,
     Only the lull I like, the hum of your valved voice.

      6
     A child said What is the grass? fetching it to me with full hands;
     How could I answer the child? I do not know what it is any more than
      he.

     Or I guess it is the handkerchief of the Lord,
     A scented gift and remembrancer designedly dropt,
     Bearing the owner's name someway in the corners, that we may see and
      remark, and say Whose?

     Or I guess it is a uniform hieroglyphic,
     And it means, Sprouting alike in broad zones and narrow zones,
     Growing among black folks as among white,
     Kanuck, Tuckahoe, Congressman, Cuff, I give them the same, I receive
      them the same.

      7
     Has any one supposed it lucky to be born?
     I hasten to inform him or her it is just as lucky to die, and I know
      it.




     Thought

     Of Equality--as if it harm'd me, giving others the same chances and
      rights as myself--as if it were not indispensable to my own rights that
      others possess the same.
"""


def test_free_verse_with_numbered_sections_and_wrapped_long_lines_is_kept_whole():
    poems = poems_of(FREE_VERSE)
    assert [title for title, _ in poems] == ["Song of Myself, 5", "Song of Myself, 6", "Song of Myself, 7", "Thought"]
    assert "\n remark, and say Whose?" in poems[1][1]  # the wrapped line kept as printed, common indentation gone
    assert not [line for line in lines_of(poems) if re.fullmatch(r"\d+", line)]  # the section numbers cut
    assert "prose" not in reading(FREE_VERSE).skipped() and kept_share(FREE_VERSE) > 0.9


def test_a_poem_of_one_long_wrapped_line_is_verse():
    assert poems_of(FREE_VERSE)[-1][1].startswith("Of Equality--as if it harm'd me")


def test_unwrap_joins_lines_deeper_than_the_paragraphs_own_indent_that_go_on_in_lowercase():
    section = ["      2", "     Houses and rooms are full of perfumes, the shelves are crowded with", "      perfumes,",
               "     I breathe the fragrance myself and know it and like it,"]
    assert unwrap(section) == ["      2", "     Houses and rooms are full of perfumes, the shelves are crowded with "
                               "perfumes,", "     I breathe the fragrance myself and know it and like it,"]
    half_line = ["   It's only the pick of the Army", "             that handles the dear little pets--'Tss! 'Tss!",
                 "       For you all love the screw-guns--the screw-guns they all love you!"]
    assert unwrap(half_line)[0] == "   It's only the pick of the Army that handles the dear little pets--'Tss! 'Tss!"
    assert len(unwrap(half_line)) == 2  # a deeper line with a capital is a line of its own


# ---- verse judged prose: a ballad's half-lines pushed far right, lines longer than 75 characters --------------

BALLADS = """\
BARRACK-ROOM BALLADS

By Rudyard Kipling




Screw-Guns

   Smokin' my pipe on the mountings, sniffin' the mornin' cool,
   I walks in my old brown gaiters along o' my old brown mule,
   With seventy gunners be'ind me, an' never a beggar forgets
   It's only the pick of the Army
             that handles the dear little pets--'Tss! 'Tss!
       For you all love the screw-guns--the screw-guns they all love you!
       So when we call round with a few guns,
                 o' course you will know what to do--hoo! hoo!
       Jest send in your Chief an' surrender--
                 it's worse if you fights or you runs:
       You can go where you please, you can skid up the trees,
                 but you don't get away from the guns!

   They sends us along where the roads are, but mostly we goes where they ain't:
   We'd climb up the side of a sign-board an' trust to the stick o' the paint:
   We've chivied the Naga an' Looshai, we've give the Afreedeeman fits,
   For we fancies ourselves at two thousand,
             we guns that are built in two bits--'Tss! 'Tss!
       For you all love the screw-guns...

   There's a wheel on the Horns o' the Mornin',
             an' a wheel on the edge o' the Pit,
   An' a drop into nothin' beneath you as straight as a beggar can spit:
   With the sweat runnin' out o' your shirt-sleeves,
             an' the sun off the snow in your face,
   An' 'arf o' the men on the drag-ropes
             to hold the old gun in 'er place--'Tss! 'Tss!
       For you all love the screw-guns...




'Soldier an' Sailor Too'

   As I was spittin' into the Ditch aboard o' the Crocodile,
   I seed a man on a man-o'-war got up in the Reg'lars' style.
   'E was scrapin' the paint from off of 'er plates,
     an' I sez to 'im, "'Oo are you?"
   Sez 'e, "I'm a Jolly--'Er Majesty's Jolly--soldier an' sailor too!"
   Now 'is work begins by Gawd knows when, and 'is work is never through;
   'E isn't one o' the reg'lar Line, nor 'e isn't one of the crew.
   'E's a kind of a giddy harumfrodite--soldier an' sailor too!

   We're most of us liars, we're 'arf of us thieves,
     an' the rest are as rank as can be,
   But once in a while we can finish in style
     (which I 'ope it won't 'appen to me).
   But it makes you think better o' you an' your friends,
     an' the work you may 'ave to do,
   When you think o' the sinkin' Victorier's Jollies--soldier an' sailor too!




'The Men that fought at Minden'

   A Song of Instruction

   The men that fought at Minden, they was rookies in their time--
    So was them that fought at Waterloo!
   All the 'ole command, yuss, from Minden to Maiwand,
    They was once dam' sweeps like you!




   The Shut-Eye Sentry
   Sez the Junior Orderly Sergeant
    To the Senior Orderly Man:
   "Our Orderly Orf'cer's hokee-mut,
    You 'elp 'im all you can.
"""


def test_ballads_with_half_lines_pushed_right_and_long_lines_are_verse_and_each_title_cuts():
    poems = poems_of(BALLADS)
    assert [title for title, _ in poems][:3] == ["Screw-Guns", "'Soldier an' Sailor Too'",
                                                  "'The Men that fought at Minden'"]  # not Title Case, still a title
    assert "\n          that handles the dear little pets" in poems[0][1]  # as printed, common indentation gone
    assert "prose" not in reading(BALLADS).skipped() and kept_share(BALLADS) > 0.9


# ---- verse judged prose: songs with a prose headnote and footnotes between their stanzas ----------------------

SONGS_WITH_NOTES = """\
POEMS AND SONGS OF ROBERT BURNS




Holy Willie's Prayer

     "And send the godly in a pet to pray."--Pope.


Argument.

Holy Willie was a rather oldish bachelor elder, in the parish of
Mauchline, and much and justly famed for that polemical chattering,
which ends in tippling orthodoxy, and for that spiritualized bawdry
which refines to liquorish devotion. On losing the process, the muse
overheard him at his devotions, as follows:--

     O Thou, who in the heavens does dwell,
     Who, as it pleases best Thysel',
     Sends ane to heaven an' ten to hell,
     A' for Thy glory,
     And no for ony gude or ill
     They've done afore Thee!

     I bless and praise Thy matchless might,
     When thousands Thou hast left in night,
     That I am here afore Thy sight,
     For gifts an' grace
     A burning and a shining light
     To a' this place.




Halloween^1

     [Footnote 1: Is thought to be a night when witches, devils,
     and other mischief-making beings are abroad on their baneful
     midnight errands.--R.B.]

The following poem will, by many readers, be well enough understood; but
for the sake of those who are unacquainted with the manners and
traditions of the country where the scene is cast, notes are added to
give some account of the principal charms and spells of that night.--R.B.

     Yes! let the rich deride, the proud disdain,
     The simple pleasure of the lowly train;
     To me more dear, congenial to my heart,
     One native charm, than all the gloss of art.--Goldsmith.

     Upon that night, when fairies light
     On Cassilis Downans^2 dance,
     Or owre the lays, in splendid blaze,
     On sprightly coursers prance;
     Or for Colean the rout is ta'en,
     Beneath the moon's pale beams;
     There, up the Cove,^3 to stray an' rove,
     Amang the rocks and streams
     To sport that night;

     Certain little, romantic, rocky, green hills, in the neighbourhood
     of the ancient seat of the Earls of Cassilis, where the fairies are
     said to dance on that night of all the year.--R.B.

     Amang the bonie winding banks,
     Where Doon rins, wimplin, clear;
     Where Bruce ance rul'd the martial ranks,
     An' shook his Carrick spear;
     Some merry, friendly, countra-folks
     Together did convene,
     To burn their nits, an' pou their stocks,
     An' haud their Halloween
     Fu' blythe that night.




To A Mountain Daisy,

     On turning one down with the Plough, in April, 1786.

     Wee, modest, crimson-tipped flow'r,
     Thou's met me in an evil hour;
     For I maun crush amang the stoure
     Thy slender stem:
     To spare thee now is past my pow'r,
     Thou bonie gem.




Song--Composed In August

     Tune--"I had a horse, I had nae mair."

     Now westlin winds and slaught'ring guns
     Bring Autumn's pleasant weather;
     The moorcock springs on whirring wings
     Amang the blooming heather.
"""


def test_a_headnote_before_a_song_and_a_footnote_between_its_stanzas_are_notes_and_the_verse_is_kept():
    poems = poems_of(SONGS_WITH_NOTES)
    assert [title for title, _ in poems] == ["Holy Willie's Prayer", "Halloween", "To A Mountain Daisy",
                                             "Song--Composed In August"]
    assert poems[0][1].startswith("O Thou, who in the heavens does dwell,")  # the argument and epigraph out
    assert poems[1][1].startswith("Upon that night, when fairies light") and "Fu' blythe that night." in poems[1][1]
    words = " ".join(text for _, text in poems)
    for note in ("oldish bachelor", "unacquainted", "romantic, rocky", "Goldsmith", "Pope", "On turning", "Tune"):
        assert note not in words, note
    skipped = reading(SONGS_WITH_NOTES).skipped()
    assert skipped["notes_in_poems"] > len(tokenize("Holy Willie was a rather oldish bachelor elder")) * 5
    assert skipped["epigraphs"] == len(tokenize('"And send the godly in a pet to pray."--Pope.'
                                                "Yes! let the rich deride, the proud disdain, The simple pleasure "
                                                "of the lowly train; To me more dear, congenial to my heart, One "
                                                "native charm, than all the gloss of art.--Goldsmith."))


def test_footnote_marks_never_reach_a_poem():
    poems = poems_of(SONGS_WITH_NOTES)
    assert not [line for line in lines_of(poems) if "^" in line]
    assert "On Cassilis Downans dance," in poems[1][1] and "There, up the Cove, to stray an' rove," in poems[1][1]


# ---- a book refused though it holds a poem: one poem inside a long prose essay, pictures captioned with its lines --

ESSAY = """\
The secret of a poem, no less than a jest's prosperity, lies in the ear of
him that hears it. Yield to its spell, accept the poet's mood: this, after
all, is what the sages answer when you ask them of its value. Even though
the poet himself, in his other mood, tells you that his art is but sleight
of hand, his food enchanter's food, and offers to show you the trick of it,
believe him not. Wait for his prophetic hour; then give yourself to his
passion, his joy or pain.
"""

ONE_POEM_IN_AN_ESSAY = f"""\
THE RAVEN

BY
EDGAR ALLAN POE

ILLUSTRATED
BY GUSTAVE DORE

[Illustration]

WITH COMMENT BY EDMUND C. STEDMAN

NEW YORK

HARPER & BROTHERS, PUBLISHERS, FRANKLIN SQUARE
1884




Entered according to Act of Congress, in the year 1883, by
HARPER & BROTHERS,
In the Office of the Librarian of Congress, at Washington.

_All rights reserved._




LIST OF ILLUSTRATIONS
WITH NAMES OF ENGRAVERS

Title-page, designed by Elihu Vedder.       _Frederick Juengling._

"Nevermore."                         _H. Claudius, G.J. Buechner._


ANANKE.

"Once upon a midnight dreary, while I pondered, weak and weary,
Over many a quaint and curious volume of forgotten lore."
                                                    _R.A. Muller._

"Ah, distinctly I remember it was in the bleak December,
And each separate dying ember wrought its ghost upon the floor."
                                                    _R.G. Tietze._

"Eagerly I wished the morrow;--vainly I had sought to borrow
From my books surcease of sorrow--sorrow for the lost Lenore."
                                                      _H. Claudius._




COMMENT ON THE POEM.

{ESSAY * 3}
{ESSAY * 3}
{ESSAY * 3}




THE RAVEN.

Once upon a midnight dreary, while I pondered, weak and weary,
Over many a quaint and curious volume of forgotten lore,
While I nodded, nearly napping, suddenly there came a tapping,
As of some one gently rapping, rapping at my chamber door.
"'T is some visiter," I muttered, "tapping at my chamber door--
    Only this, and nothing more."

Ah, distinctly I remember it was in the bleak December,
And each separate dying ember wrought its ghost upon the floor.
Eagerly I wished the morrow;--vainly I had sought to borrow
From my books surcease of sorrow--sorrow for the lost Lenore--
For the rare and radiant maiden whom the angels name Lenore--
    Nameless here for evermore.

And the silken sad uncertain rustling of each purple curtain
Thrilled me--filled me with fantastic terrors never felt before;
So that now, to still the beating of my heart, I stood repeating
"'T is some visiter entreating entrance at my chamber door--
Some late visiter entreating entrance at my chamber door;--
    This it is, and nothing more."
"""


def test_one_poem_inside_a_prose_essay_is_kept_once_and_the_essay_counted():
    read = reading(ONE_POEM_IN_AN_ESSAY)
    assert [title for title, _ in read.poems] == ["THE RAVEN"]
    assert read.poems[0][1].startswith("Once upon a midnight dreary") and read.poems[0][1].endswith("nothing more.\"")
    skipped = read.skipped()
    assert skipped["prose"] >= 9 * len(tokenize(ESSAY))  # the essay
    assert skipped["captions"] > 0 and skipped["title_page"] > 0  # the captions repeat the poem: no second copy
    assert "Congress" not in read.poems[0][1]


# ---- a printed book's marks: line numbers at the right margin; speakers' names; parts under one title ---------

MARGIN_NUMBERS = """\
GOBLIN MARKET, AND OTHER POEMS

By Christina Rossetti




CONTENTS

  Goblin Market
  The Hour and the Ghost
  A Portrait




GOBLIN MARKET


Morning and evening
Maids heard the goblins cry:
'Come buy our orchard fruits,
Come buy, come buy:
Apples and quinces,
Lemons and oranges,
Plump unpecked cherries,
Melons and raspberries,
Bloom-down-cheeked peaches,
Swart-headed mulberries,                                           10
Wild free-born cranberries,
Crab-apples, dewberries,
Pine-apples, blackberries,
Apricots, strawberries;--
All ripe together
In summer weather,--
Morns that pass by,
Fair eves that fly;
Come buy, come buy:
Our grapes fresh from the vine,                                    20
Pomegranates full and fine.'




THE HOUR AND THE GHOST


  BRIDE

O love, love, hold me fast,
He draws me away from thee;
I cannot stem the blast,
Nor the cold strong sea:
Far away a light shines
Beyond the hills and pines;
It is lit for me.

  BRIDEGROOM

I have thee close, my dear,
No terror can come near;
Only far off the northern light shines clear.                      10

  GHOST

Come with me, fair and false,
To our home, come home.
It is my voice that calls:
Once thou wast not afraid
When I woo'd, and said,
'Come, our nest is newly made'--
Now cross the tossing foam.

  BRIDE

Hold me one moment longer,
He taunts me with the past,
His clutch is waxing stronger,                                     20
Hold me fast, hold me fast.

  BRIDEGROOM

Lean on me, hide thine eyes:
Only ourselves, earth and skies,
Are present here: be wise.

  GHOST

Lean on me, come away,                                             30
I will guide and steady:
Come, for I will not stay.




A PORTRAIT


I

She gave up beauty in her tender youth,
  Gave all her hope and joy and pleasant ways;
  She covered up her eyes lest they should gaze
On vanity, and chose the bitter truth.

II

They knelt in silent anguish by her bed,
  And could not weep; but calmly there she lay.
  All pain had left her; and the sun's last ray
Shone through upon her, warming into day.
"""


def test_line_numbers_at_the_right_margin_never_reach_a_poem():
    poems = poems_of(MARGIN_NUMBERS)
    assert "Swart-headed mulberries,\n" in poems[0][1] and "Our grapes fresh from the vine,\n" in poems[0][1]
    assert not [line for line in lines_of(poems) if re.search(r"\d", line)]


def test_speakers_names_stay_inside_their_poem_and_out_of_its_text():
    poems = poems_of(MARGIN_NUMBERS)
    assert [title for title, _ in poems] == ["GOBLIN MARKET", "THE HOUR AND THE GHOST", "A PORTRAIT, I",
                                             "A PORTRAIT, II"]
    ghost = poems[1][1]
    assert ghost.startswith("O love, love, hold me fast,") and ghost.endswith("Come, for I will not stay.")
    assert not re.search(r"BRIDE|GHOST", ghost)


def test_numbered_parts_are_poems_that_carry_the_title():
    poems = poems_of(MARGIN_NUMBERS)
    assert poems[2] == ("A PORTRAIT, I", "She gave up beauty in her tender youth,\n  Gave all her hope and joy and "
                        "pleasant ways;\n  She covered up her eyes lest they should gaze\nOn vanity, and chose the "
                        "bitter truth.")
    assert poems[3][1].startswith("They knelt in silent anguish")


# ---- poems cut in the wrong places: a cantata's labels; an inset song; sentence-case titles; BOOK I ------------

CANTATA = """\
POEMS AND SONGS




Love And Liberty--A Cantata

     Recitativo

     When lyart leaves bestrow the yird,
     Or wavering like the bauckie-bird,
     Bedim cauld Boreas' blast;
     When hailstanes drive wi' bitter skyte,
     And infant frosts begin to bite,
     In hoary cranreuch drest;




     Air

     Tune--"Soldier's Joy."


     I am a son of Mars who have been in many wars,
     And show my cuts and scars wherever I come;
     This here was for a wench, and that other in a trench,
     When welcoming the French at the sound of the drum.




     Chorus

     Lal de daudle, &c.
     Lal de lal, &c.




     Recitativo

     He ended; and the kebars sheuk,
     Aboon the chorus roar;
     While frighted rattons backward leuk,
     An' seek the benmost bore.




     Air

     Tune--"Sodger Laddie."


     I once was a maid, tho' I cannot tell when,
     And still my delight is in proper young men;
     Some one of a troop of dragoons was my daddie,
     No wonder I'm fond of a sodger laddie,
     Sing, lal de lal, &c.




     Chorus

     Sing hey my braw John Highlandman!
     Sing ho my braw John Highlandman!




     Recitativo

     Then niest outspak a raucle carlin,
     Wha kent fu' weel to cleek the sterlin;
     For mony a pursie she had hooked,
     An' had in mony a well been douked.




     Air

     Tune--"O, an ye were dead, Guidman."


     A Highland lad my love was born,
     The lalland laws he held in scorn;
     But he still was faithfu' to his clan,
     My gallant, braw John Highlandman.




     Chorus

     A fig for those by law protected!
     Liberty's a glorious feast!
     Courts for cowards were erected,
     Churches built to please the priest.




Epitaph On A Noisy Polemic

     Below thir stanes lie Jamie's banes;
     O Death, it's my opinion,
     Thou ne'er took such a bleth'rin bitch
     Into thy dark dominion!




Epitaph On A Henpecked Country Squire

     As father Adam first was fool'd,
     A case that's still too common,
     Here lies a man a woman rul'd,
     The devil rul'd the woman.




Epitaph For James Smith

     Lament him, Mauchline husbands a',
     He aften did assist ye;
     For had ye staid hale weeks awa,
     Your wives they ne'er had missed ye.
"""


def test_a_cantatas_labels_and_tunes_stay_inside_the_one_poem():
    poems = poems_of(CANTATA)
    assert [title for title, _ in poems] == ["Love And Liberty--A Cantata", "Epitaph On A Noisy Polemic",
                                             "Epitaph On A Henpecked Country Squire", "Epitaph For James Smith"]
    cantata = poems[0][1]
    assert cantata.startswith("When lyart leaves") and cantata.endswith("Churches built to please the priest.")
    assert not re.search(r"Recitativo|Air|Chorus|Tune", cantata)


INSET_SONG = """\
THE LADY OF THE LAKE

By Walter Scott




CANTO FIRST. THE CHASE


She paused, then, blushing, led the lay
To grace the stranger of the day.
Her mellow notes awhile prolong
The cadence of the flowing song,
Till to her lips in measured frame
The minstrel verse spontaneous came.

SONG.

Soldier, rest! thy warfare o'er,
  Sleep the sleep that knows not breaking;
Dream of battled fields no more,
  Days of danger, nights of waking.

She paused: the listening Chief was mute,
And silent hung the unstrung lute;
And still the echo of the strain
Was ringing in the stranger's brain.




CANTO SECOND. THE ISLAND


At morn the black-cock trims his jet,
Each plume of sable, glossy yet;
The lark sends down her revelry,
The blackbird and the speckled thrush.
"""


def test_an_inset_song_stays_inside_its_poem():
    poems = poems_of(INSET_SONG)
    assert [title for title, _ in poems] == ["CANTO FIRST. THE CHASE", "CANTO SECOND. THE ISLAND"]
    assert "Soldier, rest!" in poems[0][1] and poems[0][1].endswith("Was ringing in the stranger's brain.")
    assert "SONG" not in poems[0][1]


SENTENCE_CASE_TITLES = """\
SONNETS

By William Wordsworth




The world is too much with us

The world is too much with us; late and soon,
Getting and spending, we lay waste our powers;
Little we see in Nature that is ours;
We have given our hearts away, a sordid boon!




It is a beauteous evening, calm and free

It is a beauteous evening, calm and free,
The holy time is quiet as a Nun
Breathless with adoration; the broad sun
Is sinking down in its tranquillity;




Nuns fret not at their convent's narrow room

Nuns fret not at their convent's narrow room;
And hermits are contented with their cells;
And students with their pensive citadels;
Maids at the wheel, the weaver at his loom,
"""


def test_sonnets_titled_in_sentence_case_are_cut_at_their_titles():
    poems = poems_of(SENTENCE_CASE_TITLES)
    assert [title for title, _ in poems] == ["The world is too much with us", "It is a beauteous evening, calm and free",
                                             "Nuns fret not at their convent's narrow room"]
    assert [text.split("\n")[0] for _, text in poems] == [
        "The world is too much with us; late and soon,", "It is a beauteous evening, calm and free,",
        "Nuns fret not at their convent's narrow room;"]


BOOKS_OF_A_LONG_POEM = """\
PARADISE LOST

By John Milton




BOOK I


Of Man's first disobedience, and the fruit
Of that forbidden tree whose mortal taste
Brought death into the World, and all our woe,
With loss of Eden, till one greater Man
Restore us, and regain the blissful seat,
Sing, Heavenly Muse.




BOOK II


High on a throne of royal state, which far
Outshone the wealth of Ormus and of Ind,
Or where the gorgeous East with richest hand
Showers on her kings barbaric pearl and gold,
Satan exalted sat, by merit raised
To that bad eminence.
"""


def test_a_long_poems_books_are_titled_by_their_part_not_their_first_line():
    assert [title for title, _ in poems_of(BOOKS_OF_A_LONG_POEM)] == ["BOOK I", "BOOK II"]


def test_a_books_layout_is_measured_on_the_book():
    essay = ESSAY.strip().split("\n")
    stanza = ["Once upon a midnight dreary, while I pondered, weak and weary,", "Over many a quaint and curious "
              "volume of forgotten lore,", "While I nodded, nearly napping, suddenly there came a tapping,"]
    paras = [(["COMMENT"], 4, 1), (essay, 1, 1), (essay, 1, 4), (["  THE RAVEN"], 4, 2), (stanza, 2, 2),
             (stanza, 2, 4), (["  THE BELLS"], 4, 2), (stanza, 2, 99)]
    layout = measure(paras)
    assert layout.width == max(len(line) for line in essay)  # the essay's wrap width, not the verse's
    assert (layout.stanza_gap, layout.title_gap, layout.title_indent, layout.verse_indent) == (2, 4, 2, 0)

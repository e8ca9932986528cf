"""A compositional generator of English demo scripts: declarative, wh- and imperative sentences.

The demo corpus speaks every script with each label of its form (`FORM_LABELS`), so a text-only model
has to recognise the FORM of sentences it has never seen. A few hundred hand-written scripts are learned
by heart; this module writes thousands of distinct, everyday sentences from a small grammar instead.

Grammar. A sentence is built in two steps: a *construction* of its form is drawn first (uniformly, a few
marked constructions at half weight; see `CONSTRUCTIONS`), then filled from the lexicon:

* declarative: present simple, present progressive, past, future (will, 'll, going to), present perfect,
  modals, copular with an adjective ("the soup is too hot"), copular with a noun or a place ("my brother
  is a doctor", "the keys are on the table"), weather ("it's cold outside"), existential ("there are two
  letters for you"), a fronted time or sentence adverb ("last night we watched a film"), an infinitive
  complement ("she wants to sell her car"), a reporting frame ("i think the bus is late"), a leading
  vocative ("anna, you left your keys") and two clauses joined by and/but/so/because/when ("i called her
  but she was busy", "we stayed at home because the bus was late").
* wh: what/who(m)/which/whose questions with an object gap, where, when, why, how (how often, how
  long), what time, how many/how much, subject questions ("who called you", "which bus goes downtown"),
  copular questions ("how old is your brother", "whose keys are these"), preposition-first questions
  ("at what time does the bank open", "to whom did you send the letter") and a leading vocative.
* imperative: a verb with its object, ditransitive ("pass me the salt"), put-somewhere, phrasal
  ("turn off the lights", "sit down"), motion and intransitive, please-first or -last, negative
  ("don't touch the oven", "never open that door"), let's, be + adjective ("be careful"),
  adverb-first ("just call me later"), remember/try to, two joined imperatives, social formulas
  ("have a nice weekend") and a leading vocative.

The lexicon: pronouns and other closed-class words (never held out), first names, nouns in semantic
groups, places, adjectives with the noun groups they describe, and verbs with their frames
(transitive with compatible object groups, ditransitive, phrasal, prepositional, put-somewhere,
intransitive, motion, non-human subject, to-infinitive) and inflections (regular rules and an
irregular table). Verbs agree with their subjects; auxiliaries take base forms ("did he go").

Each script is drawn towards a target length (most 5-10 words): its construction is drawn first, then a few
fillings of it, keeping the one nearest the target, so lengths spread without changing the construction mix.
Every word is a form of the lexicon in use or a closed-class word (`CLOSED_WORDS`), checked on every sentence.

Splits. `generate_scripts` draws, deterministically from its seed, a held-out lexicon: about
`heldout_fraction` of the names, nouns, places and adjectives of every semantic group, and 60% of that
fraction of the verbs (never the very common ones: go, come, take, give, put, make, get, have, do, ...).
`train` and `val` scripts use none of the held-out words; every `test` script uses at least one of them
(`ScriptSets.heldout_words` lists every inflected form). Each split has exactly its number of scripts per
form, and no text occurs twice anywhere. Scripts are lower case, 3-14 words, at most 78 characters, from
letters, space, apostrophe and comma only (numbers are spelled out; no final punctuation: the label
supplies it).

Command line: `python -m coaudiotext.data.generator --split test --out test.tsv` (see `--help`).

Example:

>>> sets = generate_scripts(seed=0, train_per_form=20, val_per_form=5, test_per_form=5)
>>> len(sets.train), len(sets.val), len(sets.test)
(60, 15, 15)
>>> sorted({form for _, form in sets.test}) == sorted(FORMS)
True
>>> all(set(text.replace(",", " ").split()) & sets.heldout_words for text, _ in sets.test)
True
>>> text, form = sets.train[0]
>>> to_rows([(text, form)]) == [(text, label) for label in FORM_LABELS[form]]
True
>>> generate_scripts(seed=0, train_per_form=20, val_per_form=5, test_per_form=5) == sets
True
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import random
import sys

__all__ = [
    "FORMS",
    "FORM_LABELS",
    "CONSTRUCTIONS",
    "CLOSED_WORDS",
    "ScriptSets",
    "Lexicon",
    "LEXICON",
    "generate_scripts",
    "generate",
    "heldout_lexicon",
    "check_script",
    "tokens",
    "to_rows",
    "main",
]

FORMS = ("declarative", "wh", "imperative")
FORM_LABELS = {"declarative": ("s", "yn"), "wh": ("wh", "yn"), "imperative": ("c", "r")}

MIN_WORDS, MAX_WORDS, MAX_CHARS = 3, 14, 78
ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz ',")
VERB_SHARE = 0.6
"""Held-out verbs are `VERB_SHARE * heldout_fraction` of all verbs (12% at the default 0.2)."""

# ---------------------------------------------------------------------------------------------------------
# Lexicon tables
# ---------------------------------------------------------------------------------------------------------
# Nouns: `word[/plural] group tag ...`. `_` joins multi-word nouns. Plural: omitted = regular, `-` = mass
# noun, `+` = plural-only (the word is plural), `~` = bare (no determiner: languages, sports, subjects),
# otherwise the irregular plural. The group (first tag) stratifies the held-out draw and selects
# adjectives; the other tags are the object groups verb frames ask for.
_NOUN_TABLE = """
apple        produce buy cut peel pick share fruit
banana       produce buy peel fruit
orange       produce buy peel cut fruit
mango        produce buy peel cut fruit
pear         produce buy pick fruit
peach        produce buy pick fruit
strawberry   produce buy pick grow fruit
lemon        produce buy cut
tomato       produce buy chop cut grow
potato       produce buy chop peel boil fry grow
carrot       produce buy chop peel boil grow
onion        produce buy chop peel fry grow
cucumber     produce buy chop cut grow
egg          produce buy boil fry
avocado      produce buy cut
cake         dish buy bake cut share cook order
pie          dish buy bake cut share
pizza        dish buy bake cut share order heat
sandwich     dish buy cook share order
burger       dish buy cook order
salad        dish buy cook order share
omelette     dish cook
soup/-       dish cook heat order
pasta/-      dish cook boil heat
rice/-       dish cook boil heat
bread/-      dish buy bake cut pass
cheese/-     dish buy cut pass
chicken/-    dish buy cook fry cut
fish/-       dish buy cook fry
curry        dish cook heat order
cookie       dish buy bake share
biscuit      dish buy bake share
pancake      dish cook fry
muffin       dish buy bake
noodles/+    dish cook boil order heat
toast/-      dish cook
chocolate/-  dish buy share
ice_cream/-  dish buy share
lasagne/-    dish cook heat bake
water/-      drink buy pass boil order
milk/-       drink buy heat pass
coffee/-     drink buy brew order
tea/-        drink buy brew order
juice/-      drink buy order
lemonade/-   drink buy brew order
smoothie     drink brew order
milkshake    drink order
salt/-       condiment pass buy
pepper/-     condiment pass
sugar/-      condiment pass buy
butter/-     condiment pass buy
honey/-      condiment pass buy
jam/-        condiment pass buy
ketchup/-    condiment pass
plate        kitchen wash pass fragile portable
cup          kitchen wash pass fragile fill portable coloured
glass        kitchen wash pass fragile fill portable
bowl         kitchen wash pass fragile fill portable
mug          kitchen wash fragile fill portable buy coloured
spoon        kitchen wash pass portable
fork         kitchen wash pass portable
knife/knives kitchen wash pass portable
bottle       kitchen fill open portable buy fragile
jar          kitchen open fragile portable
pan          kitchen wash portable
kettle       kitchen fill switch plug sg
key          personal lose find portable keep hide spare
phone        personal lose find portable charge fix use hide plug answer coloured
wallet       personal lose find portable keep hide coloured
purse        personal lose find portable keep coloured
umbrella     personal lose find portable lend borrow coloured
bag          personal lose find portable carry open pack container spot_t spot_c spot_p coloured
backpack     personal lose find portable carry pack container spot_t coloured
passport     personal lose find portable keep show
watch        personal lose find portable fix
camera       personal lose find portable charge fix lend borrow use
laptop       personal lose find portable charge fix lend borrow use shut open plug
charger      personal lose find portable lend borrow plug
headphones/+ personal lose find portable lend borrow
sunglasses/+ personal lose find portable
ring         personal lose find hide
pen          object portable lend borrow use find coloured
pencil       object portable lend borrow
notebook     object portable lend find coloured
book         object portable lend borrow read return buy find
ticket       object portable lose find buy print show book keep check
towel        object portable fold hang wash coloured
blanket      object portable fold wash coloured
pillow       object portable
toy          object portable hide coloured
ball         object portable catch coloured
candle       object portable buy coloured
torch        object portable switch
scissors/+   object portable lend borrow
remote       object portable find hide
present      object portable buy wrap open hide send
parcel       object portable deliver collect post send open
suitcase     object carry pack open lock container spot_c
box          object portable carry open shut move container spot_t coloured
basket       object carry container spot_p
ladder       object move lend borrow
door         furniture open shut lock paint knock push coloured
window       furniture open shut lock fragile clean knock
drawer       furniture open shut lock container spot_t spot_c
fridge       furniture open shut clean container spot_f spot_p sg
cupboard     furniture open shut clean container spot_k spot_t
gate         furniture open shut lock paint
curtains/+   furniture open shut wash
table        furniture move clean surface spot_t spot_f spot_k spot_c book
chair        furniture move surface paint spot_c coloured
desk         furniture move clean surface spot_t
shelf/shelves furniture surface clean spot_t spot_k
bed          furniture move surface make spot_t spot_c
sofa         furniture move surface spot_t spot_c sg coloured
lamp         furniture switch move plug fragile coloured
mirror       furniture fragile clean
wall         fixture paint
fence        fixture paint
floor        fixture sweep clean spot_t the
counter      fixture surface clean spot_f spot_k spot_t the
sink         fixture clean the
bin          fixture empty the
light        device switch fix
tv           device switch fix volume sg
radio        device switch fix volume sg
heater       device switch fix sg
fan          device switch fix
computer     device switch fix use sg
printer      device switch fix use sg
oven         device switch clean touch shut sg container spot_d
stove        device switch touch sg
dishwasher   device load empty fix sg
washing_machine device load fix sg
alarm        device switch ring sg
car          vehicle drive park wash lock fix sell rent buy lend borrow load
bus          vehicle catch takevehicle transit miss sg
train        vehicle catch takevehicle transit miss sg
bike         vehicle ride park lock fix lend borrow rent buy
taxi         vehicle takevehicle callable book transit sg
van          vehicle drive park load wash rent
truck        vehicle drive park load
boat         vehicle rent sell buy
plane        vehicle catch transit miss sg
motorbike    vehicle ride park sell buy
scooter      vehicle ride park
tram         vehicle catch takevehicle transit miss sg
ferry        vehicle catch takevehicle transit miss sg
mother       family sg
father       family sg
sister       family
brother      family
son          family
daughter     family
aunt         family
uncle        family
cousin       family
grandmother  family sg
grandfather  family sg
wife/wives   family sg
husband      family sg
parents/+    family
baby         baby carry feedable sg
kid          family wake feedable
doctor       job callable
teacher      job
nurse        job
lawyer       job
chef         job
pilot        job
driver       job
waiter       job
engineer     job
dentist      job callable
plumber      job callable
farmer       job
student      job
manager      job
boss         job
mechanic     job callable
musician     job
journalist   job
friend       people
neighbour    people
colleague    people
guest        people
classmate    people
visitor      people nposs
customer     people nposs
man/men      people nposs
woman/women  people nposs
boy          people nposs
girl         people nposs
child/children people
dog          animal feed walk wash pet bark
cat          animal feed pet
horse        animal feed ride pet
bird         animal feed pet
rabbit       animal feed pet
cow          animal feed
sheep/sheep  animal feed
duck         animal feed
mouse/mice   animal pet
goat         animal feed
puppy        animal feed walk wash pet bark
kitten       animal feed pet
parrot       animal feed pet
hamster      animal feed pet
pig          animal feed
tortoise     animal feed pet
letter       doc read write sign send post open answer writeto
report       doc read write print send check finish start emailable
email        doc read write send check answer delete writeto
form         doc sign print fillin check emailable
contract     doc read sign check send emailable
receipt      doc keep print check
menu         doc read check
message      doc read write send check answer delete writeto
map          doc read print check show emailable
list         doc write make check emailable
note         doc read write writeto
invoice      doc send print check payable emailable
newspaper    doc read buy
magazine     doc read buy
card         doc write send sign buy post writeto
bill         doc payable check
recipe       doc read show emailable
essay        doc read write finish check start
article      doc read write
application  doc fillin send sign emailable
invitation   doc send
homework/-   chore finish do check
laundry/-    chore do the
dishes/+     chore do wash the
shopping/-   chore do the
housework/-  chore do the
rubbish/-    chore rubbish the
file         digital download delete save send emailable
app          digital download delete
photo        digital delete send print show share emailable
video        digital delete send share watch emailable
song         digital download song share audible
podcast      digital download audible
password     info change recall own
meeting      event plan cancel miss organise timed own haveevent
party        event plan cancel organise enjoy timed own haveevent
concert      event cancel miss enjoy timed
game         event win watch enjoy timed
match        event win watch miss timed
class        event miss cancel timed own haveevent
lesson       event miss cancel timed own haveevent
appointment  event cancel book miss make own haveevent
exam         event task passexam miss timed own haveevent
test         event task passexam timed own haveevent
trip         event plan cancel book enjoy own
holiday      event plan book enjoy own
wedding      event plan organise celebrate timed own
interview    event cancel prepare timed own haveevent
film         event watch enjoy timed
movie        event watch enjoy timed
show         event watch enjoy timed
birthday     event celebrate own
flight       event book cancel miss catch own
race         event win watch timed
course       event task passexam finish start own
festival     event enjoy organise timed
truth/-      info tell the
story        info tell read write
joke         info tell
secret       info tell
news/-       info tell watch audible the
answer       info recall explain task own
plan         info explain change make own
idea         info explain own
problem      info explain solve task
question     info ask answer explain task own
address      info recall change own
decision     info make explain own
mistake      info make
puzzle       info solve task
rules/+      info explain the
music/-      info audible volume own
shirt        clothes wear iron fold wash buy hang
jacket       clothes wear buy hang
coat         clothes wear buy hang
wardrobe     furniture open shut container spot_c
dress        clothes wear iron buy hang
hat          clothes wear buy
scarf/scarves clothes wear buy
gloves/+     clothes wear buy
shoes/+      clothes wear buy clean
socks/+      clothes wear fold wash
trousers/+   clothes wear iron fold wash
jeans/+      clothes wear fold wash buy
sweater      clothes wear fold wash buy
boots/+      clothes wear buy clean
skirt        clothes wear iron buy
uniform      clothes wear iron wash
hands/+      body wash dry
face         body wash dry
hair/-       body wash dry brush
teeth/+      body brush
plants/+     plant water buy
flowers/+    plant water buy pick plant grow
tree         plant plant climb
grass/-      plant water
roses/+      plant water pick plant grow
vegetables/+ plant grow buy
football/~   sport play watch
tennis/~     sport play watch
chess/~      sport play
basketball/~ sport play watch
volleyball/~ sport play
golf/~       sport play watch
cards/~      sport play
rugby/~      sport play watch
piano        instrument play practise the
guitar       instrument play practise the
violin       instrument play practise the
drums/+      instrument play practise the
flute        instrument play practise the
french/~     language speak learn teach understand practise
spanish/~    language speak learn teach understand practise
english/~    language speak learn teach understand practise
german/~     language speak learn teach understand practise
italian/~    language speak learn teach understand practise
chinese/~    language speak learn teach understand practise
japanese/~   language speak learn teach understand practise
arabic/~     language speak learn teach understand practise
russian/~    language speak learn teach understand practise
korean/~     language speak learn teach understand practise
portuguese/~ language speak learn teach understand practise
hindi/~      language speak learn teach understand practise
swahili/~    language speak learn teach understand practise
maths/~      subject teach
history/~    subject teach
biology/~    subject teach
physics/~    subject teach
chemistry/~  subject teach
art/~        subject teach
law/~        subject
medicine/~   subject
economics/~  subject teach
geography/~  subject teach
"""

# Places: `word prep group tag ...`. prep: the preposition of location ("at the station", "in the kitchen");
# cities and countries (groups `city`, `country`) take no article.
_PLACE_TABLE = """
room             in room clean paint tidy
kitchen          in room clean paint tidy
bedroom          in room clean paint tidy
bathroom         in room clean paint
living_room      in room clean paint tidy
garage           in room clean paint tidy
basement         in room clean
attic            in room clean tidy
hallway          in room clean paint
garden           in room water dest
dining_room      in room clean paint
classroom        in room clean
station          at building dest find leave
library          at building dest shop find leave
bank             at building dest shop find
hospital         at building dest find leave
market           at building dest shop find
airport          at building dest find leave
museum           at building dest shop visit find
restaurant       at building dest shop find recommend leave
cinema           at building dest shop find leave
hotel            at building dest find recommend leave
pharmacy         at building dest shop find
bakery           at building dest shop find
supermarket      at building dest shop find
gym              at building dest shop find recommend leave
church           at building dest find
stadium          at building dest find leave
post_office      at building dest shop find
bus_stop         at building dest find
shop             at building dest shop find leave
cafe             at building dest shop find recommend leave
zoo              at building dest shop visit
theatre          at building dest find leave
office           at building dest find leave clean
factory          at building dest
university       at building dest visit
bookshop         at building dest shop find recommend
swimming_pool    at building dest shop find
police_station   at building dest find
house            at home dest sell rent clean paint leave
flat             at home dest sell rent clean paint leave
apartment        in home dest sell rent clean
park             in outdoor dest visit
beach            at outdoor dest visit
river            by outdoor dest cross
lake             by outdoor dest
forest           in outdoor dest
hill             on outdoor dest climb
mountain         on outdoor dest climb
bridge           on outdoor dest cross
road             on outdoor cross
street           on outdoor cross
square           in outdoor dest
farm             on outdoor dest visit
island           on outdoor dest visit
london           in city dest visit live
paris            in city dest visit live
tokyo            in city dest visit live
rome             in city dest visit live
madrid           in city dest visit live
berlin           in city dest visit live
lagos            in city dest visit live
cairo            in city dest visit live
delhi            in city dest visit live
sydney           in city dest visit live
toronto          in city dest visit live
chicago          in city dest visit live
boston           in city dest visit live
seoul            in city dest visit live
lisbon           in city dest visit live
dublin           in city dest visit live
vienna           in city dest visit live
nairobi          in city dest visit live
athens           in city dest visit live
bangkok          in city dest visit live
spain            in country dest visit live
italy            in country dest visit live
japan            in country dest visit live
india            in country dest visit live
brazil           in country dest visit live
canada           in country dest visit live
france           in country dest visit live
germany          in country dest visit live
kenya            in country dest visit live
egypt            in country dest visit live
peru             in country dest visit live
china            in country dest visit live
ireland          in country dest visit live
scotland         in country dest visit live
australia        in country dest visit live
norway           in country dest visit live
ghana            in country dest visit live
mexico           in country dest visit live
greece           in country dest visit live
portugal         in country dest visit live
"""

# Adjectives: `word flags class ...`. flags: `g` gradable (takes too/very/really), `a` attributive,
# `p` predicative. A class is a noun group or tag the adjective describes (`weather`: "it's cold",
# `behave`: "be careful"); the first class stratifies the held-out draw.
_ADJECTIVE_TABLE = """
new          ap   thing personal device vehicle clothes place home
old          gap  thing personal device vehicle clothes place home person animal
big          gap  thing vehicle place home animal
small        gap  thing vehicle place home animal clothes
heavy        gap  box suitcase bag table sofa ladder
cheap        gap  thing personal device vehicle clothes place
expensive    gap  personal device vehicle clothes place home
broken       ap   personal device vehicle furniture kitchen
clean        gap  kitchen clothes room home
dirty        gap  kitchen clothes room vehicle
wet          gap  clothes towel
empty        p    kitchen room building vehicle
full         p    kitchen building vehicle
red          a    vehicle clothes coloured
blue         a    vehicle clothes coloured
green        a    vehicle clothes coloured
black        a    vehicle clothes coloured
white        a    vehicle clothes coloured
yellow       a    vehicle clothes coloured
grey         a    vehicle clothes
brown        a    clothes box chair sofa door
pink         a    clothes toy ball towel blanket mug
spare        a    key charger
favourite    a    clothes dish drink building event song
nice         gap  clothes dish place home person
lovely       ap   clothes place home person event dish
beautiful    gap  clothes place home person
fresh        gap  dish produce drink
hot          gp   dish drink weather room
cold         gap  dish drink weather room
warm         gap  dish drink weather room clothes
sweet        gap  fruit cake pie cookie biscuit muffin tea coffee lemonade juice
spicy        gap  curry soup chicken noodles
salty        gap  soup cheese butter fish
delicious    gp   dish produce drink
ripe         gap  fruit
tall         gap  person
young        gap  person animal
kind         gap  person
friendly     gap  person animal
funny        gap  person film movie show story joke
clever       gap  person animal
busy         gap  person building
tired        gp   person animal
happy        gp   person animal
hungry       gp   person animal
sick         gp   person animal
nervous      gp   person
worried      gp   person
excited      gp   person
bored        gp   person
angry        gp   person
late         p    person transit event
asleep       p    person animal
awake        p    person animal
ready        p    person dish doc
famous       gap  person building
strict       gap  person
lazy         gap  person animal
quiet        gap  person building room animal behave
noisy        gap  building room animal
crowded      gp   building transit
closed       p    building shut
open         p    building shut
locked       p    lock
dark         gap  room weather
comfortable  gap  furniture shoes boots home
modern       gap  building home device
cancelled    p    event
over         p    timed
boring       gap  event book article story essay magazine
interesting  gap  event book article story magazine idea
great        ap   event building dish idea
important    gap  meeting exam test interview appointment letter email message report contract
difficult    gap  task
easy         gap  task
long         gap  event report essay letter article
loud         gap  device
slow         gap  vehicle computer
fast         gap  vehicle computer
sunny        gap  weather room
windy        gap  weather
cloudy       gap  weather
foggy        gap  weather
freezing     p    weather room
rainy        gap  weather
humid        gap  weather
careful      gp   behave
patient      gp   behave person
polite       gp   behave person
honest       gp   behave person
gentle       gp   behave person
calm         gp   behave person
brave        gp   behave person
missing      p    personal doc
wrong        p    doc info
safe         gp   building vehicle
"""

_NAME_TABLE = """
anna tom maria james sofia li priya raj ahmed fatima yuki kenji carlos lucia olga ivan amara kwame chen mei
omar leila sara david emma liam noah olivia mia lucas hugo elena marco giulia pierre chloe hans ingrid lars
freya aisha hassan zara ravi anika diego mateo isabel rosa jonas nina ben kate sam alex jack lily grace peter
paul lisa daniel hana jin tariq nadia sipho thandi kofi ama zoe max leo ella oscar ruby yusuf amir arjun
meera dmitri katya bruno ines pablo eva felix
"""

# Verbs: `base[/past/pp] flags | frame ; frame ...`. flags: `c` common (never held out), `s` stative (no
# progressive), `a` animal subjects too, `w` takes a place adjunct / "where" with its object, `n` only in
# negative imperatives ("don't forget"), `x` no imperative, `2` doubles its last consonant (stopped).
# Frames: `o:TAGS` object; `d:TAGS` recipient and object ("give me the book"); `p:PART:TAGS` phrasal
# with object ("turn off the lights"); `q:PART` phrasal intransitive ("sit down"); `r:PREP:TAGS`
# prepositional object ("wait for the bus"); `l:TAGS` object and a place ("put the keys on the table");
# `i:CODES` intransitive (codes: L place, W with someone, M manner, A alone/together); `m` motion to a
# destination; `s:TAGS` intransitive with a non-human subject ("the shop opens at nine"); `t` takes a
# to-infinitive ("want to"). Object TAGS: noun tags; `P` a person, `A` an animal, `meal` breakfast, lunch
# or dinner.
_VERB_TABLE = """
have/had/had        csx | o:pet,vehicle,haveevent ; o:meal
do/did/done         c   | o:chore
go/went/gone        c   | m ; q:out ; q:back ; q:away
come/came/come      c   | m ; q:in ; q:back ; q:over
take/took/taken     c   | o:portable,takevehicle ; p:off:clothes ; p:out:rubbish
give/gave/given     c   | d:portable,food,doc ; p:back:portable
put/put/put         c2  | l:portable,food,clothes ; p:on:clothes ; p:away:portable,clothes
make/made/made      c   | o:cook,brew,meal,make ; d:cook,brew
get/got/got         c2  | o:buy,doc ; d:drink,portable ; q:up
see/saw/seen        csxw | o:P,A,watch
know/knew/known     csx | o:P,recall
tell/told/told      c   | d:tell
want                csx | o:buy,food,drink ; t
need                csx | o:buy,food,drink,portable ; t
like                csx | o:food,drink,sport,watch,pet,audible,P ; t
find/found/found    cw  | o:find,P,A
leave/left/left     cw  | o:personal ; o:leave ; i ; s:transit
call                c   | o:P,callable ; p:back:P ; i
bring/brought/brought c | d:portable,food,drink ; o:portable,food,drink ; p:back:portable
look                c   | r:at:doc,digital,P ; r:for:personal,P,A ; r:after:feedable,pet
keep/kept/kept      cw  | o:personal,keep ; l:food,portable
try/tried           c   | o:dish,drink ; p:on:clothes ; t
use                 c   | o:use,kitchen
buy/bought/bought   cw  | o:buy ; d:buy
pay/paid/paid       c   | o:payable,P ; r:for:buy,food,drink ; i
send/sent/sent      c   | d:send ; o:send
show/showed/shown   c   | d:show,digital
eat/ate/eaten       caw | o:food ; i:LWA
drink/drank/drunk   caw | o:drink
help                c   | o:P ; i
wait                cw  | i:LM ; r:for:P,transit
work                c   | i:LWA
love                sx  | o:food,drink,sport,watch,pet,audible,P ; t
hate                sx  | o:food,drink,sport,watch,pet,audible ; t
prefer/preferred/preferred sx2 | o:food,drink,sport,watch
live                sx  | i:L
stay                    | i:L
sleep/slept/slept   a   | i:LM
rest                    | i
relax                   | i
sit/sat/sat         a2  | q:down
stand/stood/stood       | q:up
lie/lay/lain            | q:down
wake/woke/woken         | q:up ; p:up:P,feedable
hurry                   | q:up
calm                    | q:down
slow                    | q:down
run/ran/run         a2  | i:LM ; m
walk                a   | i:LWA ; m ; o:walk
drive/drove/driven      | o:drive ; m ; i:M
ride/rode/ridden        | o:ride
fly/flew/flown          | m
swim/swam/swum      a2  | i:LA
dance                   | i:LW
sing/sang/sung          | o:song ; i
play                aw  | o:sport,instrument ; i:LWA
watch               w   | o:watch
listen                  | r:to:audible,P ; i:M
talk                    | r:to:P ; i:W
speak/spoke/spoken      | o:language ; r:to:P ; i:M
study               w   | o:subject,language ; i:LA
learn                   | o:language,instrument
teach/taught/taught     | o:subject,language
read/read/read      w   | o:read ; i:M
write/wrote/written     | o:write ; d:writeto
sign                    | o:sign
print                   | o:print
check                   | o:check
fill                    | p:in:fillin ; o:fill
answer                  | o:answer
ask                 c   | d:question
explain                 | o:explain
understand/understood/understood sx | o:explain,language,P
solve                   | o:solve
remember            s   | o:P,recall ; t
forget/forgot/forgotten n2 | o:personal,recall ; t
lose/lost/lost      nw  | o:personal ; o:win
win/won/won         2   | o:win
miss                n   | o:transit,event,P
catch/caught/caught     | o:catch
book                    | o:book
cancel              2   | o:cancel
plan                2   | o:plan ; t
organise                | o:organise
start                   | o:start ; s:timed
begin/began/begun   2   | s:timed
finish                  | o:finish ; s:timed
join                    | o:P
enjoy                   | o:enjoy
visit                   | o:visit,P
meet/met/met        w   | o:P ; i:L
invite                  | o:P
thank                   | o:P
text                    | o:P
email                   | o:P ; d:emailable
open                    | o:open ; s:shop
close                   | o:shut ; s:shop
lock                    | o:lock
unlock                  | o:lock
fix                     | o:fix
repair                  | o:fix
break/broke/broken  n   | o:fragile
drop                n2  | o:portable
carry                   | o:carry
hold/held/held          | o:portable ; q:on
clean                   | o:clean ; p:up:clean
tidy                    | p:up:tidy
wash                    | o:wash
dry                     | o:dry
brush                   | o:brush
iron                    | o:iron
fold                    | o:fold
wear/wore/worn          | o:wear
change                  | o:change ; p:into:wear
hang/hung/hung          | p:up:hang
cut/cut/cut         2   | o:cut
peel                    | o:peel
chop                2   | o:chop
boil                    | o:boil
fry/fried               | o:fry
cook                w   | o:cook,meal ; i
bake                    | o:bake
heat                    | p:up:heat
order                   | o:order ; d:order
water                   | o:water
plant                   | o:plant
grow/grew/grown         | o:grow
pick                w   | o:pick ; p:up:portable,P
cross                   | o:cross
climb                   | o:climb
feed/fed/fed            | o:feed,feedable
rent                    | o:rent
sell/sold/sold          | o:sell
deliver                 | o:deliver
wrap                2   | o:wrap
download                | o:download
delete                  | o:delete
share                   | o:share
borrow                  | o:borrow
lend/lent/lent          | d:lend
hand                    | d:portable
pass                    | d:pass ; o:passexam
empty                   | o:empty
push                    | o:push
move                    | o:move ; i ; m
paint                   | o:paint ; i
touch               n   | o:touch,portable
knock                   | r:on:knock
turn                    | p:on:switch ; p:off:switch ; p:down:volume ; p:up:volume ; q:around
switch                  | p:on:switch ; p:off:switch
plug                2   | p:in:plug
charge                  | o:charge
throw/threw/thrown      | p:away:portable,doc,food
smile               n   | i ; r:at:P
laugh               n   | i ; r:at:P
cry/cried           an  | i
shout               n   | i ; r:at:P
arrive                  | i:L ; s:transit
return                  | o:return
park                    | o:park
stop                2   | s:transit
worry/worried       n   | i ; r:about:P,event,task
argue               n   | i ; r:with:P
agree               xs  | r:with:P
practise                | o:practise ; i
celebrate               | o:celebrate
decide                  | t
promise                 | t
bark                a   | s:bark
ring/rang/rung          | s:ring
prepare                 | o:cook,meal,prepare
save                    | o:save
chat                2   | r:with:P
hide/hid/hidden         | o:hide
sweep/swept/swept       | o:sweep
load                    | o:load
pack                    | o:pack ; i
collect                 | o:collect
post                    | o:post
reply/replied           | r:to:writeto
"""

# Closed-class words: pronouns, determiners, auxiliaries, wh-words, prepositions, particles, numbers, time
# words, adverbs and the fixed words of the constructions. They are never held out.
_CLOSED = """
i you he she it we they me him her us them my your his our their mine yours hers ours theirs myself
yourself i'm you're he's she's it's we're they're i've you've we've they've i'll you'll he'll she'll
it'll we'll they'll i'd you'd that's there's here's what's where's who's how's when's why's let's
the a an this that these those some any no every each all both another other more most much many few
little lot lots enough several own same such
is am are was were be been being do does did done have has had will would can could shall should may
might must isn't aren't wasn't weren't don't doesn't didn't haven't hasn't won't wouldn't can't couldn't
shouldn't mustn't not never
what where when why who whom which whose how kind sort
and but or so because if then than
at in on to from with for of by about into onto under over after before behind near next between
around through up down off out away back along across inside outside upstairs downstairs downtown
home here there abroad somewhere anywhere everywhere nowhere ahead
please just always usually often sometimes rarely never again already still yet soon later now today
tonight tomorrow yesterday quickly slowly carefully quietly loudly gently hard well together alone early
late maybe perhaps probably luckily unfortunately actually honestly apparently suddenly finally recently
really very too quite so bit extremely completely almost nearly even also only right straight
everyone everybody someone somebody nobody nothing something everything anything anyone
one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty forty five
fifty hundred half quarter past o'clock noon midnight dozen couple
monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays
saturdays sundays morning afternoon evening night week month year summer winter weekend weekends day
days weeks months years minutes minute hours hour ages while time times once twice
last this next ago other earlier
breakfast lunch dinner work bed school church
mum dad kids guys sweetheart honey
think guess sure heard said told hope bet believe seems know
it rain raining rained snow snowing snowed getting going gone
look looks looked seem seemed feel feels felt taste tastes tasted sound sounds sounded smell smells
careful quiet good ready late
shopping fishing camping hiking skiing
name matter weather like platform nearest best wrong happened happens happen cost costs take takes
far long old colour one ones fun seat care yourself rest day trip nice safe safely soon
with without first moment way silly likely mean city country as shy scared rude we'd he'd she'd they'd meal
thing badly since rains afraid patiently smelled tasted sounded seemed deep online near nearby fast living
such what's
"""


def _tokens(text):
    return text.replace(",", " ").split()


def tokens(text):
    """The words of a script, commas removed.

    Args:
        text: str. A script ("anna, sit down").

    Returns:
        list of str (["anna", "sit", "down"]); what held-out words are matched against.
    """
    return _tokens(text)


CLOSED_WORDS = frozenset(_tokens(_CLOSED))
"""Closed-class and construction words: in every split, never held out."""

# ---------------------------------------------------------------------------------------------------------
# Lexicon classes
# ---------------------------------------------------------------------------------------------------------

_VOWELS = "aeiou"
_AN_EXCEPTIONS = {"hour": "an", "honest": "an", "university": "a", "uniform": "a", "one": "a", "useful": "a",
                  "european": "a", "usual": "a"}


def _article(word):
    if word in _AN_EXCEPTIONS:
        return _AN_EXCEPTIONS[word]
    return "an" if word[0] in _VOWELS else "a"


def _plural(word):
    if word.endswith(("s", "sh", "ch", "x", "z")) or word in ("tomato", "potato", "hero"):
        return word + "es"
    if word.endswith("y") and word[-2] not in _VOWELS:
        return word[:-1] + "ies"
    return word + "s"


_GROUP_CLASS = {"baby": "person", "produce": "food", "dish": "food", "drink": "food", "condiment": "food",
                "kitchen": "thing",
                "personal": "thing", "object": "thing", "furniture": "thing", "device": "thing",
                "vehicle": "thing", "clothes": "thing", "family": "person", "job": "person", "people": "person",
                "animal": "animal", "doc": "doc", "digital": "doc", "event": "event", "room": "place",
                "building": "place", "home": "place", "outdoor": "place"}
_GROUP_TAGS = {"produce": ("food",), "dish": ("food",), "drink": ("drink",), "condiment": ("the",),
               "family": ("human",), "job": ("human",), "people": ("human",)}


@dataclasses.dataclass(frozen=True)
class Noun:
    """A noun or a place of the lexicon.

    Args:
        word: str. Singular (or the only form of a mass, plural-only or bare noun).
        plural: str or None. Plural form; None for mass and bare nouns.
        kind: str. "count", "mass", "plural" (plural-only), "bare" (no determiner), "proper" (city, country).
        group: str. Semantic group (first tag).
        tags: tuple of str. Group, implied tags and the object tags verb frames ask for.
        category: str. "noun" or "place".
        prep: str. Preposition of location for places ("at", "in", "on", "by"), else "".
    """

    word: str
    plural: str | None
    kind: str
    group: str
    tags: tuple
    category: str = "noun"
    prep: str = ""

    @property
    def forms(self):
        """Every surface form the generator writes: singular, plural and possessive."""
        out = [self.word]
        if self.plural:
            out.append(self.plural)
        if self.kind == "count":
            out.append(self.word + "'s")
        return tuple(out)

    @property
    def number(self):
        return "pl" if self.kind == "plural" else "sg"


@dataclasses.dataclass(frozen=True)
class Adjective:
    """An adjective: `classes` are the noun groups/tags it describes; gradable ones take "very", "too"."""

    word: str
    classes: tuple
    gradable: bool
    attributive: bool
    predicative: bool

    @property
    def forms(self):
        return (self.word,)

    @property
    def group(self):
        return self.classes[0]


@dataclasses.dataclass(frozen=True)
class Frame:
    """One way a verb combines with its complements (see the verb table's comment)."""

    kind: str
    tags: tuple = ()
    part: str = ""
    codes: str = ""


@dataclasses.dataclass(frozen=True)
class Verb:
    """A verb: its five forms, flags and frames."""

    base: str
    s: str
    past: str
    pp: str
    ing: str
    flags: str
    frames: tuple

    @property
    def forms(self):
        return tuple(dict.fromkeys((self.base, self.s, self.past, self.pp, self.ing)))

    @property
    def common(self):
        return "c" in self.flags

    @property
    def stative(self):
        return "s" in self.flags

    def form(self, name):
        return getattr(self, name)


@dataclasses.dataclass(frozen=True)
class Name:
    """A first name."""

    word: str

    @property
    def forms(self):
        return (self.word, self.word + "'s")

    group = "name"


def _inflect(base, double):
    stem = base + base[-1] if double else base
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        s = base + "es"
    elif base.endswith("y") and base[-2] not in _VOWELS:
        s = base[:-1] + "ies"
    else:
        s = base + "s"
    if base.endswith("e"):
        past = base + "d"
    elif base.endswith("y") and base[-2] not in _VOWELS:
        past = base[:-1] + "ied"
    else:
        past = stem + "ed"
    if base.endswith("ie"):
        ing = base[:-2] + "ying"
    elif base.endswith("e") and not base.endswith(("ee", "oe", "ye")) and base != "be":
        ing = base[:-1] + "ing"
    else:
        ing = stem + "ing"
    return s, past, ing


_IRREGULAR_S = {"have": "has", "do": "does", "go": "goes"}


def _parse_nouns():
    out = []
    for line in _NOUN_TABLE.strip().splitlines():
        head, *tags = line.split()
        word, _, plural = head.partition("/")
        word = word.replace("_", " ")
        group = tags[0]
        if plural == "-":
            kind, plural = "mass", None
        elif plural == "+":
            kind, plural = "plural", None
        elif plural == "~":
            kind, plural = "bare", None
        else:
            kind, plural = "count", (plural.replace("_", " ") if plural else _plural(word))
        tags = tuple(dict.fromkeys(tags + list(_GROUP_TAGS.get(group, ()))))
        out.append(Noun(word, plural, kind, group, tags))
    return tuple(out)


def _parse_places():
    out = []
    for line in _PLACE_TABLE.strip().splitlines():
        word, prep, *tags = line.split()
        word = word.replace("_", " ")
        group = tags[0]
        kind = "proper" if group in ("city", "country") else "count"
        out.append(Noun(word, None if kind == "proper" else _plural(word), kind, group, tuple(tags),
                        category="place", prep=prep))
    return tuple(out)


def _parse_adjectives():
    out = []
    for line in _ADJECTIVE_TABLE.strip().splitlines():
        word, flags, *classes = line.split()
        out.append(Adjective(word, tuple(classes), "g" in flags, "a" in flags, "p" in flags))
    return tuple(out)


def _parse_verbs():
    out = []
    for line in _VERB_TABLE.strip().splitlines():
        head, _, frames_text = line.partition("|")
        head = head.split()
        forms, flags = head[0].split("/"), (head[1] if len(head) > 1 else "")
        base = forms[0]
        s, past, ing = _inflect(base, "2" in flags)
        s = _IRREGULAR_S.get(base, s)
        if len(forms) > 1:
            past = forms[1]
        pp = forms[2] if len(forms) > 2 else past
        if base == "lie":
            ing = "lying"
        frames = []
        for spec in frames_text.split(";"):
            parts = spec.strip().split(":")
            kind = parts[0]
            if kind in ("o", "d", "l", "s"):
                frames.append(Frame(kind, tuple(parts[1].split(","))))
            elif kind in ("p", "r"):
                frames.append(Frame(kind, tuple(parts[2].split(",")), part=parts[1]))
            elif kind == "q":
                frames.append(Frame(kind, part=parts[1]))
            elif kind == "i":
                frames.append(Frame(kind, codes=parts[1] if len(parts) > 1 else ""))
            else:
                frames.append(Frame(kind))
        out.append(Verb(base, s, past, pp, ing, flags, tuple(frames)))
    return tuple(out)


_SPECIAL_TAGS = frozenset({"P", "A", "meal"})
_ADJECTIVE_TAGS = frozenset({"fruit", "transit", "shut", "lock", "task", "human", "coloured"})


class Lexicon:
    """A subset of the lexicon: the nouns, places, adjectives, names and verbs the generator may use.

    Args:
        nouns: iterable of `Noun` (nouns and places).
        adjectives: iterable of `Adjective`.
        names: iterable of `Name`.
        verbs: iterable of `Verb`.
    """

    def __init__(self, nouns, adjectives, names, verbs):
        self.nouns = tuple(nouns)
        self.adjectives = tuple(adjectives)
        self.names = tuple(names)
        self.verbs = tuple(verbs)
        self._pools = {}
        self._adjs = {}
        self.frames = collections.defaultdict(list)
        for verb in self.verbs:
            for frame in verb.frames:
                if frame.kind in ("q", "i", "m", "t") or self.available(frame.tags):
                    self.frames[frame.kind].append((verb, frame))
        self.frames = dict(self.frames)
        self.by_base = {verb.base: verb for verb in self.verbs}
        self.words = frozenset(self.vocabulary())

    def things(self, tags):
        """Nouns and places having any of `tags` (a tuple of noun tags), in table order."""
        tags = tuple(tags)
        if tags not in self._pools:
            wanted = set(tags)
            self._pools[tags] = tuple(n for n in self.nouns if wanted.intersection(n.tags))
        return self._pools[tags]

    def available(self, tags):
        """Whether an object of `tags` can be drawn (`P`, `A` and `meal` always can)."""
        return bool(set(tags) & _SPECIAL_TAGS) or bool(self.things(tags))

    def group(self, *groups):
        key = ("group",) + groups
        if key not in self._pools:
            self._pools[key] = tuple(n for n in self.nouns if n.group in groups)
        return self._pools[key]

    def adjectives_for(self, noun, use):
        """Adjectives describing `noun` (a Noun or a class name) usable as `use` ("a" or "p")."""
        key = (noun if isinstance(noun, str) else (noun.group, noun.tags, noun.word), use)  # word: classes hold it
        if key not in self._adjs:
            classes = {noun} if isinstance(noun, str) else {noun.group, _GROUP_CLASS.get(noun.group, ""), noun.word} | (
                set(noun.tags) & _ADJECTIVE_TAGS)
            self._adjs[key] = tuple(a for a in self.adjectives if classes.intersection(a.classes) and (
                a.attributive if use == "a" else a.predicative))
        return self._adjs[key]

    def entries(self):
        return self.nouns + self.adjectives + self.names + self.verbs

    def vocabulary(self):
        """Every word form the entries of this lexicon can write (sorted list)."""
        out = set()
        for entry in self.entries():
            for form in entry.forms:
                out.update(form.split())
        return sorted(out)


def _full_lexicon():
    names = tuple(Name(w) for w in _NAME_TABLE.split())
    return Lexicon(_parse_nouns() + _parse_places(), _parse_adjectives(), names, _parse_verbs())


LEXICON = _full_lexicon()
"""The whole lexicon (what test scripts draw from)."""


def _stratified(entries, fraction, rng, min_kept=2):
    """About `fraction` of `entries` of each group, each group keeping at least `min_kept` entries."""
    groups = collections.defaultdict(list)
    for entry in entries:
        groups[entry.group].append(entry)
    chosen = []
    for group in sorted(groups):
        members = sorted(groups[group], key=lambda e: e.forms[0])
        count = min(round(fraction * len(members) + rng.random() - 0.5), max(0, len(members) - min_kept))
        rng.shuffle(members)
        chosen += members[:max(0, count)]
    return chosen


def heldout_lexicon(seed=0, heldout_fraction=0.2):
    """The training lexicon and the held-out words for `seed`.

    Args:
        seed: int. Seed of the draw.
        heldout_fraction: float in [0, 1). Share of the names, nouns, places and adjectives of each group
            held out (verbs: `VERB_SHARE` of it, never common verbs).

    Returns:
        `(train_lexicon, heldout_entries, heldout_words)`: a `Lexicon` without the held-out entries, the
        held-out entries (list) and every word form only they write (frozenset).
    """
    if not 0 <= heldout_fraction < 1:
        raise ValueError(f"Expected heldout_fraction in [0, 1). Received: heldout_fraction={heldout_fraction!r}")
    rng = random.Random(f"coaudiotext-generator-{seed}-heldout")
    lex = LEXICON
    held = _stratified(lex.names, heldout_fraction, rng)
    held += _stratified([n for n in lex.nouns if n.category == "noun"], heldout_fraction, rng)
    held += _stratified([n for n in lex.nouns if n.category == "place"], heldout_fraction, rng)
    held += _stratified(lex.adjectives, heldout_fraction, rng)
    verbs = sorted((v for v in lex.verbs if not v.common), key=lambda v: v.base)
    rng.shuffle(verbs)
    held += verbs[:round(VERB_SHARE * heldout_fraction * len(lex.verbs))]
    held_ids = {id(e) for e in held}
    kept = [e for e in lex.entries() if id(e) not in held_ids]
    kept_words = set(CLOSED_WORDS)
    for entry in kept:
        for form in entry.forms:
            kept_words.update(form.split())
    words = set()
    for entry in held:
        for form in entry.forms:
            words.update(w for w in form.split() if w not in kept_words)
    train = Lexicon([n for n in lex.nouns if id(n) not in held_ids],
                    [a for a in lex.adjectives if id(a) not in held_ids],
                    [n for n in lex.names if id(n) not in held_ids], [v for v in lex.verbs if id(v) not in held_ids])
    order = {id(e): k for k, e in enumerate(lex.entries())}
    return train, sorted(held, key=lambda e: order[id(e)]), frozenset(words)


# ---------------------------------------------------------------------------------------------------------
# Closed-class material
# ---------------------------------------------------------------------------------------------------------

_NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty")
_HOURS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PRONOUNS = {  # subject: (object, possessive, person, plural)
    "i": ("me", "my", 1, False), "you": ("you", "your", 2, False), "he": ("him", "his", 3, False),
    "she": ("her", "her", 3, False), "we": ("us", "our", 1, True), "they": ("them", "their", 3, True),
    "it": ("it", "its", 3, False)}
_INDEFINITES = ("everyone", "everybody", "someone", "somebody", "nobody")
_VOCATIVES = ("mum", "dad", "kids", "guys", "sweetheart", "honey", "everyone")
_CONTRACT = {("i", "am"): "i'm", ("you", "are"): "you're", ("he", "is"): "he's", ("she", "is"): "she's",
             ("it", "is"): "it's", ("we", "are"): "we're", ("they", "are"): "they're", ("i", "have"): "i've",
             ("you", "have"): "you've", ("we", "have"): "we've", ("they", "have"): "they've",
             ("he", "has"): "he's", ("she", "has"): "she's"}
_NEG = {"do": "don't", "does": "doesn't", "did": "didn't", "is": "isn't", "are": "aren't", "was": "wasn't",
        "were": "weren't", "have": "haven't", "has": "hasn't", "will": "won't", "can": "can't",
        "could": "couldn't", "should": "shouldn't", "would": "wouldn't", "must": "mustn't"}


_PLURAL_GROUPS = frozenset({"produce", "dish", "kitchen", "object", "doc", "digital", "clothes", "animal", "job",
                            "people", "family", "plant"})
_NO_NEG_IMPERATIVE = frozenset({"win", "enjoy", "celebrate", "thank", "relax", "rest", "hurry", "calm", "agree",
                                "learn", "practise", "water", "help", "slow", "pass", "reply", "study", "solve"})
_NO_PROGRESSIVE = frozenset({"join", "find", "lose", "forget", "break", "drop", "miss", "win", "know", "see",
                             "understand",
                             "remember", "agree", "hide"})
_NO_PERFECT = frozenset({"hold", "touch", "push", "cry", "smile", "laugh", "sit", "stand", "lie", "swim", "chat",
                         "shout", "dance", "run", "walk", "relax", "rest", "sleep"})
_QUICK_VERBS = frozenset({"close", "open", "put", "take", "come", "go", "get", "bring", "wash", "hide", "turn",
                          "switch", "sit", "stand", "call", "check", "run", "pick", "finish", "clean", "tidy", "eat",
                          "drink", "hand", "give", "pass", "lock", "wake", "answer", "text", "send", "change"})
_CHORE_VERBS = frozenset({"call", "text", "bring", "buy", "clean", "tidy", "feed", "water", "cook", "make", "wash",
                          "close", "open", "lock", "turn", "switch", "put", "sit", "take", "pack", "check", "come",
                          "go", "get", "wake", "stand", "hurry", "pick", "give", "hand", "pass", "send", "answer",
                          "finish", "do", "charge", "empty", "fold", "hang", "wait", "help"})
_IMPERATIVE_ONLY = frozenset({("hold", "q"), ("worry", "i")})
_NEVER_VERBS = frozenset({"open", "touch", "leave", "tell", "eat", "drink", "drive", "lend", "give", "lose", "drop",
                          "call", "text", "show", "sign", "share", "swim", "play", "go", "walk", "cross", "climb",
                          "feed", "use", "park", "wake", "ride", "send", "buy", "move", "throw", "break"})
_GENTLE_VERBS = frozenset({"hold", "carry", "put", "wash", "close", "open", "wake", "pick", "push", "dry", "brush",
                           "fold", "lift", "read", "check", "drive", "fill", "sign", "cut", "pour", "take", "peel"})
_QUIET_VERBS = frozenset({"close", "open", "read", "leave", "eat", "wait", "walk", "come", "go", "sit", "stand",
                          "lie", "wake"})
_PREFERENCE_VERBS = frozenset({"like", "love", "hate", "prefer", "understand", "remember", "know", "see"})
_NPOSS_GROUPS = frozenset({"produce", "condiment", "sport", "language", "subject", "plant"})
_ANY_PLACE = ("room", "building", "home", "outdoor", "city", "country")
_ADJECTIVES_BY_WORD = {a.word: a for a in LEXICON.adjectives}
_PLURAL_PEOPLE = frozenset(n.word if n.kind == "plural" else n.plural for n in LEXICON.nouns
                           if n.group in ("family", "job", "people") and n.kind in ("plural", "count"))


def _possessable(noun):
    """Whether "my"/"your"/"anna's" fits the noun ("my keys", not "my onion", "my woman" or "my concert")."""
    if noun.group in _NPOSS_GROUPS or "nposs" in noun.tags or "the" in noun.tags:
        return False
    if noun.group in ("event", "info"):
        return "own" in noun.tags
    return True


def _is_plural(noun, words):
    if noun.kind == "plural":
        return True
    if noun.kind != "count" or not noun.plural:
        return False
    if noun.plural == noun.word:  # sheep
        return words[0] in ("these", "those", "some") or words[0] in _NUMBERS
    return words[-1] == noun.plural.split()[-1]


_PRONOUN_GROUPS = frozenset({"personal", "object", "doc", "digital", "kitchen", "clothes", "vehicle", "device",
                             "furniture"})
_STATE_ADJ = frozenset({"tired", "busy", "hungry", "sick", "late", "ready", "asleep", "awake", "happy", "angry",
                        "nervous", "worried", "excited", "bored", "quiet", "calm", "careful", "patient"})
_TOO_ADJ = frozenset({"hot", "cold", "warm", "sweet", "spicy", "salty", "big", "small", "heavy", "expensive", "cheap",
                      "loud", "slow", "fast", "long", "difficult", "busy", "tired", "dark", "crowded", "noisy",
                      "young", "old", "tall", "strict", "dirty", "wet", "boring", "late", "nervous", "quiet",
                      "humid", "windy", "early", "full", "easy"})
_DONT_BE = frozenset({"angry", "nervous", "worried", "noisy", "lazy", "sad", "late"})
_DONT_BE_CLOSED = ("silly", "rude", "shy", "afraid", "mean", "scared", "late")
_NO_IMPERATIVE = frozenset({("move", "m"), ("fly", "m"), ("move", "i"), ("arrive", "i"), ("live", "i"),
                            ("lie", "q")})
_INDEF_OBJECT_VERBS = frozenset({"make", "buy", "get", "order", "cook", "bake", "grow", "plant", "pick", "draw",
                                 "write",
                                 "tell", "ask", "prepare"})
_SCHEDULE_VERBS = frozenset({"call", "meet", "visit", "catch", "finish", "start", "leave", "open", "close", "feed",
                             "walk", "text", "collect", "deliver", "eat", "have", "arrive", "sleep", "book",
                             "pick", "cook", "work", "study", "play", "wake", "get"})
_INFINITIVE_TENSES = {"want": [("pres", 3), ("past", 2)], "need": [("pres", 3), ("past", 2)],
                      "like": [("pres", 1)], "love": [("pres", 1)], "hate": [("pres", 1)],
                      "try": [("past", 2), ("prog", 2), ("will", 1)], "plan": [("prog", 2), ("past", 1)],
                      "decide": [("past", 3), ("perf", 1)], "forget": [("past", 3), ("perf", 1)],
                      "remember": [("past", 1)], "promise": [("past", 2), ("perf", 1)]}
_POSS_VERBS = frozenset({"celebrate", "walk", "feed", "brush", "lose", "forget", "wear", "charge", "pack", "sell",
                         "lock", "park", "wash"})
_HABIT_VERBS = frozenset({"call", "visit", "go", "come", "walk", "drive", "play", "watch", "read", "eat", "drink",
                          "cook", "clean", "wash", "feed", "study", "practise", "text", "email", "check", "water",
                          "work", "swim", "run", "meet", "see", "buy", "wear", "listen", "speak", "dance", "sing",
                          "ride", "bake", "sleep", "help", "order", "change", "take"})
_TIMED_VERBS = (_SCHEDULE_VERBS - {"get", "pick", "eat"}) | frozenset({
    "call", "text", "email", "send", "bring", "finish", "check", "pay", "book", "cancel", "clean", "tidy", "water",
    "feed", "wash", "charge", "print", "return", "post", "collect", "do", "go", "come", "visit", "meet", "phone", "fix",
    "repair", "iron", "pack", "move", "paint"})
_NEUTRAL_RELATIONS = frozenset({"cousin", "friend", "neighbour", "colleague", "classmate", "guest"})
_GENDER = {"mother": "f", "father": "m", "sister": "f", "brother": "m", "son": "m", "daughter": "f", "aunt": "f",
           "uncle": "m", "grandmother": "f", "grandfather": "m", "wife": "f", "husband": "m"}
_FOR_ME_VERBS = frozenset({"open", "carry", "hold", "buy", "get", "cook", "make", "bake", "find", "check", "fix",
                           "print", "book", "order", "water", "post", "collect", "sign", "wrap", "iron", "fold",
                           "keep", "charge", "repair"})
_WHERE_VERBS = frozenset({"buy", "find", "lose", "leave", "keep", "park", "hide", "meet", "see", "eat", "read",
                          "put", "study", "watch", "drink"})
_EVENT_PLACES = {"meeting": ("office", "hotel", "library"), "party": ("house", "flat", "garden"),
                 "class": ("classroom", "university", "library"), "lesson": ("classroom",),
                 "exam": ("classroom", "university"), "test": ("classroom",),
                 "concert": ("stadium", "church", "theatre", "park"), "match": ("stadium", "park"),
                 "game": ("stadium", "park"), "race": ("stadium", "park"), "interview": ("office", "hotel"),
                 "wedding": ("church", "hotel", "garden"), "festival": ("park", "square")}
_STOPS = ("station", "airport", "bus stop", "hospital", "museum", "market", "square", "university")
_COUNT_VERBS = frozenset({"buy", "need", "want", "bake", "make", "order", "eat", "drink", "send", "write", "print",
                          "read", "take", "bring", "pack", "sell", "cook", "wash", "fold", "download", "delete",
                          "book", "fill", "plant", "pick", "grow", "boil", "fry", "peel", "cut", "chop", "iron",
                          "hang", "wrap", "deliver", "post", "collect", "return", "borrow", "lose", "find", "keep",
                          "carry", "sign", "check", "answer", "share", "feed"})
_TO_WHOM_VERBS = frozenset({"give", "send", "show", "lend", "hand", "write", "email", "bring", "pass"})
_THING_STATES = frozenset({"closed", "open", "crowded", "full", "empty", "cold", "hot", "warm", "cancelled", "late",
                           "ready", "dark", "quiet", "busy", "over", "broken", "locked", "missing"})
_STILL_ADJ = frozenset({"closed", "open", "asleep", "awake", "ready", "broken", "locked", "empty", "full", "late",
                        "over", "missing"})
_WHEN_YOU = ("when you get home", "when you arrive", "before you leave", "when you finish", "when you can",
             "when you get there", "when you wake up", "before you go out", "as soon as you can", "after you finish",
             "before you go to bed", "as soon as you get home")
_CHILDREN = frozenset({"kid", "kids", "child", "children", "boy", "girl", "boys", "girls"})
_KIND_VERBS = frozenset({"like", "love", "hate", "prefer", "buy", "want", "need", "watch", "play", "read", "cook",
                         "eat", "drink", "drive", "wear", "order", "make", "bake", "grow", "rent", "sell"})
_MANNER = {"wait": ("quietly", "patiently"), "sleep": ("well", "badly"), "drive": ("carefully", "slowly", "fast"),
           "listen": ("carefully",), "speak": ("slowly", "quietly", "loudly"), "read": ("quietly", "slowly"),
           "run": ("fast", "quickly"), "walk": ("slowly", "quickly")}
# Where intransitive (and some transitive) verbs happen: (place groups or words, closed extras).
_VERB_PLACES = {
    "wait": (("station", "bus stop", "airport", "cafe", "library", "hospital", "office", "bank"),
             ("outside", "here", "downstairs")),
    "sleep": (("bedroom", "living room", "hotel", "house", "flat"), ("at home", "upstairs", "downstairs")),
    "work": (("building", "city"), ("from home", "at home", "downtown")),
    "eat": (("restaurant", "cafe", "kitchen", "dining room", "garden", "hotel"), ("at home", "outside")),
    "study": (("library", "university", "bedroom", "classroom", "cafe"), ("at home", "abroad")),
    "swim": (("swimming pool", "lake", "river", "beach"), ("outside",)),
    "run": (("park", "beach", "forest", "river", "square"), ("outside",)),
    "walk": (("park", "beach", "forest", "river", "hill", "square"), ()),
    "play": (("garden", "park", "bedroom", "living room", "beach"), ("outside", "upstairs")),
    "dance": (("kitchen", "living room", "garden", "square"), ()),
    "live": (("city", "country"), ("downtown", "near here", "upstairs", "nearby")),
    "stay": (("hotel", "house", "flat"), ("at home", "here", "inside", "in bed")),
    "meet": (("station", "cafe", "restaurant", "library", "park", "bus stop", "airport", "square", "office",
              "cinema", "hotel", "museum", "bank", "beach"), ("outside", "downtown")),
    "arrive": (("station", "airport", "hotel", "office", "city", "country"), ("home", "downtown")),
    "see": (("building", "outdoor", "city"), ("downtown", "outside")),
    "read": (("library", "cafe", "bedroom", "garden", "living room", "park"), ("at home",)),
    "cook": (("kitchen",), ("at home",)),
    "watch": (("cinema", "living room", "bedroom", "stadium", "theatre"), ("at home", "upstairs")),
    "drink": (("cafe", "kitchen", "garden", "hotel", "restaurant"), ("at home", "outside")),
    "pick": (("station", "airport", "bus stop", "office", "library", "hospital"),
             ("from school", "from work", "downtown")),
    "buy": (("market", "supermarket", "shop", "bakery", "bookshop", "pharmacy", "airport", "station"), ("online",)),
    "find": (("room", "home", "park", "station", "office", "car park"), ("upstairs", "outside")),
    "lose": (("park", "station", "airport", "cinema", "beach", "office", "city"), ()),
    "leave": (("room", "home", "office", "cafe", "restaurant", "library"), ("at home", "at work", "upstairs")),
    "keep": (("room", "garage", "kitchen", "office"), ("upstairs",)),
    "park": (("station", "supermarket", "hospital", "office", "hotel"), ("outside", "downtown", "nearby")),
}
# Motion destinations per verb: (place groups or words, closed extras, events allowed).
_VERB_DESTINATIONS = {
    "go": (("building", "outdoor", "city", "country"),
           ("home", "to bed", "to work", "to school", "downtown", "upstairs", "outside", "abroad", "back home"), True),
    "come": (("building", "home", "outdoor", "city", "country"),
             ("home", "here", "inside", "back home", "upstairs", "downstairs"), True),
    "run": (("building", "park", "beach", "river", "lake", "bridge", "square"), ("home", "to school", "outside"),
            False),
    "walk": (("building", "park", "beach", "river", "lake", "bridge", "square"),
             ("home", "to school", "to work", "downtown"), False),
    "drive": (("building", "city", "beach", "lake", "mountain", "farm"), ("home", "to work", "downtown"), False),
    "fly": (("city", "country"), ("home", "abroad"), False),
    "move": (("city", "country"), ("abroad", "downtown"), False),
    "get": (("building", "outdoor", "city"), ("home", "downtown"), False),
}


class _Retry(Exception):
    """The drawn construction cannot be filled (empty pool, too long, ...): draw again."""


@dataclasses.dataclass
class _Subj:
    words: list
    person: int = 3
    plural: bool = False
    pron: str = ""
    human: bool = True

    @property
    def third_sg(self):
        return self.person == 3 and not self.plural


@dataclasses.dataclass(frozen=True)
class _Complement:
    """What `_Grammar.complement` fills: the verb, its frame and subject, the gap and the sentence type."""

    verb: object
    frame: object
    subj: _Subj
    gap: object
    imperative: bool
    question: bool
    avoid: tuple
    owner: object


# ---------------------------------------------------------------------------------------------------------
# The grammar
# ---------------------------------------------------------------------------------------------------------


class _Grammar:
    """Builds sentences (lists of words) from one lexicon and one random source."""

    def __init__(self, rng, lex):
        self.r = rng
        self.lex = lex

    # -- helpers ---------------------------------------------------------------------------------------

    def pick(self, seq):
        if not seq:
            raise _Retry
        return seq[self.r.randrange(len(seq))]

    def wpick(self, pairs):
        """Weighted choice from `(item, weight)` pairs."""
        total = sum(w for _, w in pairs)
        x = self.r.random() * total
        for item, weight in pairs:
            x -= weight
            if x < 0:
                return item
        return pairs[-1][0]

    def chance(self, p):
        return self.r.random() < p

    def need(self, *words):
        """The content words a construction writes literally: a retry unless this lexicon has them all."""
        for word in words:
            if word not in self.lex.words and word not in CLOSED_WORDS:
                raise _Retry
        return list(words)

    def number(self):
        return self.pick(_NUMBERS)

    # -- times -----------------------------------------------------------------------------------------

    def clock(self):
        hour = self.pick(_HOURS)
        return self.wpick([(f"at {hour}", 3), (f"at {hour} thirty", 2), (f"at half past {hour}", 2),
                           (f"at a quarter to {hour}", 1), (f"at a quarter past {hour}", 1),
                           (f"at {hour} o'clock", 1), (f"at {hour} fifteen", 1), ("at noon", 0.5),
                           ("at midnight", 0.3)]).split()

    def time(self, kind):
        """A time adjunct for a tense family: past, future, habit, now, perf, any."""
        day, n = self.pick(_DAYS), self.number()
        if kind == "past":
            some = self.pick(("two", "three", "a few"))
            items = [("yesterday", 3), ("last night", 3),
                     (f"last {self.pick(('week', 'month', 'year', 'summer', 'weekend', day))}", 3),
                     ("this morning", 2), (f"on {day}", 2), (f"{some} days ago", 1), ("an hour ago", 1),
                     (f"{some} weeks ago", 1), (f"yesterday {self.pick(('morning', 'afternoon', 'evening'))}", 1),
                     ("earlier today", 1), ("the other day", 1), (" ".join(self.clock()), 1), ("a few minutes ago", 1)]
        elif kind == "future":
            items = [("tomorrow", 3), ("tonight", 2), ("later", 2),
                     (f"next {self.pick(('week', 'month', 'year', 'summer', 'weekend', day))}", 3),
                     (f"on {day}", 2), (" ".join(self.clock()),
                                        2), (f"in {self.pick(('five', 'ten', 'twenty'))} minutes", 1),
                     ("in a few days", 0.5),
                     ("soon", 1), (f"tomorrow {self.pick(('morning', 'afternoon', 'evening'))}", 1),
                     (f"this {self.pick(('afternoon', 'evening', 'weekend'))}", 1), ("after lunch", 1),
                     ("before dinner", 1), ("after work", 1)]
        elif kind == "habit":
            items = [(f"every {self.pick(('morning', 'day', 'week', 'evening', 'night', 'weekend', 'summer', day))}",
                      3),
                     (f"on {day}s", 2), ("on weekends", 1), ("at night", 1),
                     (f"in the {self.pick(('morning', 'afternoon', 'evening'))}", 2),
                     (f"{self.pick(('twice', 'once', 'three times'))} a {self.pick(('week', 'month', 'day'))}", 1),
                     ("after work", 1), ("before breakfast", 1), (" ".join(self.clock()), 1)]
        elif kind == "imp":
            items = [("now", 2), ("right now", 1), ("later", 2), ("tonight", 2), ("tomorrow", 2), ("after lunch", 1),
                     ("before dinner", 1), (" ".join(self.clock()), 2), ("this evening", 1), (f"on {day}", 1),
                     ("in ten minutes", 1), ("first thing tomorrow", 0.5), ("today", 1), ("after school", 0.5),
                     ("before you leave", 0.5), ("when you get home", 0.5)]
        elif kind == "today":
            items = [("today", 1)]
        elif kind == "now":
            items = [("now", 2), ("right now", 2), ("at the moment", 2), ("today", 2), ("this week", 1),
                     ("tonight", 1), ("this morning", 1)]
        elif kind == "perf":
            items = [("before", 1), ("this week", 1), ("today", 1), ("twice", 1), ("again", 1),
                     ("this year", 1), ("since monday", 0.5), (f"{self.pick(('three', 'two', 'a few'))} times", 1)]
        else:
            items = [("today", 1), ("tomorrow", 1), ("later", 1), ("tonight", 1), ("now", 1)]
        return self.wpick(items).split()

    def duration(self):
        n = self.number()
        return self.wpick([(f"for {n} {self.pick(('minutes', 'hours', 'days', 'weeks'))}", 3), ("for a while", 1),
                           (f"all {self.pick(('day', 'night', 'morning', 'week'))}", 2), ("for ages", 1),
                           ("for an hour", 1)]).split()

    # -- noun phrases ----------------------------------------------------------------------------------

    def possessor(self, of_person=False):
        """`anna's`, `my mother's` (of a person: `anna's`, `my friend's`)."""
        if self.chance(0.6 if not of_person else 0.8) and self.lex.names:
            return [self.pick(self.lex.names).word + "'s"]
        people = [n for n in self.lex.group("family", "people") if n.kind == "count" and _possessable(n)
                  and n.word not in ("baby", "kid", "guest", "classmate") and (
                      not of_person or n.word in ("friend", "neighbour", "colleague"))]
        return [self.pick(("my", "your", "our")), self.pick(people).word + "'s"]

    def poss_det(self, owner=None):
        """A possessive determiner: the subject's own one half of the time."""
        if owner and owner in _PRONOUNS and owner != "it" and self.chance(0.5):
            return _PRONOUNS[owner][1]
        return self.wpick([("my", 3), ("your", 3), ("his", 1), ("her", 1), ("our", 1), ("their", 0.5)])

    def np(self, noun, det="any", adj=0.2, number=None, owner=None, imperative=False):
        """A noun phrase for `noun`.

        det: any, def, indef, the, poss, none, demo. number: sg, pl or None (drawn). owner: the subject
        pronoun (for "he lost his keys"). imperative: determiners of commands (the, your, this).
        """
        if noun.category == "place":
            return self.place_np(noun, det)
        if noun.kind == "proper":
            return [noun.word]
        if noun.kind == "bare":
            return noun.word.split()
        if noun.group == "body":
            if imperative:
                return ["our" if owner == "we" else "your"] + noun.word.split()
            if owner not in _PRONOUNS or owner == "it":
                raise _Retry
            return [_PRONOUNS[owner][1]] + noun.word.split()
        number, head = self._np_number(noun, number)
        det = self._np_determiner(noun, det, imperative)
        adjective = self._np_adjective(noun, det, adj, imperative)
        words = self._np_determiner_words(noun, det, number, owner, imperative, adjective or head)
        if adjective:
            words.append(adjective)
        return words + head.split()

    def _np_number(self, noun, number):
        """`(number, head)`: mass, pl or sg (drawn when None), and the head noun in that number."""
        if noun.kind == "mass":
            return "mass", noun.word
        if noun.kind == "plural":
            return "pl", noun.word
        if number is None:
            number = "pl" if (noun.group in _PLURAL_GROUPS or noun.word == "key") and "sg" not in noun.tags \
                and self.chance(0.25) else "sg"
        return number, noun.plural if number == "pl" else noun.word

    def _np_determiner(self, noun, det, imperative):
        """The determiner kind `det` asks for (any and def drawn), fitted to the noun."""
        possessable = _possessable(noun)
        if "the" in noun.tags and det != "none" and not (det == "indef" and noun.group == "condiment"):
            det = "the" if noun.word != "homework" else "poss"
        if det == "any":
            det = self.wpick([("the", 4), ("indef", 2 if "sg" not in noun.tags else 0.3),
                              ("poss", 3 if possessable else 0), ("demo", 1), ("possessor", 0.4 if possessable else 0)])
        elif det == "def":
            if imperative:
                own = 6 if noun.group in ("clothes", "personal") else 3
                det = self.wpick([("the", 5), ("poss", own if possessable else 0), ("demo", 1.5)])
            else:
                det = self.wpick([("the", 4), ("poss", 3 if possessable else 0), ("demo", 1),
                                  ("possessor", 0.4 if possessable else 0)])
        elif det == "poss" and not possessable:
            det = "the"
        return det

    def _np_adjective(self, noun, det, adj, imperative):
        """An attributive adjective of `noun`, with probability `adj` (at most 0.1 in commands), or None."""
        if imperative:
            adj = min(adj or 0, 0.1)
        if adj and self.chance(adj):
            adjs = [a for a in self.lex.adjectives_for(noun, "a") if a.word != "favourite" or det == "poss"]
            if adjs:
                return self.pick(adjs).word
        return None

    def _np_determiner_words(self, noun, det, number, owner, imperative, first):
        """The words of determiner kind `det` ("a"/"an" chosen by `first`, the word after it)."""
        if det == "indef":
            if number == "sg":
                return [_article(first)]
            if number == "pl":
                count = self.pick(("two", "two", "three", "three", "four", "five", "ten"))
                return self.wpick([(["some"], 2), ([count], 2 if noun.kind == "count" and not imperative else 0),
                                   ([], 1.5)])
            return self.wpick([(["some"], 2), ([], 2)])
        if det == "the":
            return ["the"]
        if det == "poss":
            if imperative and owner == "we" and noun.group in ("clothes", "personal"):
                raise _Retry
            if imperative:
                return ["our" if owner == "we" else ("your" if self.chance(0.8) or noun.group == "clothes" else "my")]
            return [self.poss_det(owner)]
        if det == "demo":
            return [self.pick(("these", "those")) if number == "pl" else self.pick(("this", "that"))]
        if det == "possessor":
            return self.possessor()
        return []

    def thing(self, tags, det="any", adj=0.2, number=None, owner=None, imperative=False):
        """A noun phrase for an object of `tags`; returns (words, noun, plural)."""
        noun = self.pick(self.lex.things(tuple(tags)))
        words = self.np(noun, det, adj, number, owner, imperative)
        return words, noun, _is_plural(noun, words)

    def person(self, avoid=(), det="any", imperative=False, owner=None):
        """An object naming a person: pronoun, name or noun phrase."""
        choice = self.wpick([("pron", 4), ("name", 3), ("np", 3)])
        if choice == "pron":
            options = [p for p in ("me", "you", "him", "her", "us", "them") if p not in avoid]
            return [self.pick(options)]
        if choice == "name" and self.lex.names:
            return [self.pick(self.lex.names).word]
        return self.person_np(imperative=imperative, owner=owner)

    def person_np(self, number=None, imperative=False, owner=None, groups=("family", "job", "people")):
        """A noun phrase naming people: "my sister", "the old man", "anna's brother", "our neighbours"."""
        noun = self.pick(self.lex.group(*groups))
        if noun.kind == "plural":
            number = "pl"
        elif "sg" in noun.tags:
            number = "sg"
        elif number is None:
            number = "pl" if self.chance(0.2) else "sg"
        head = noun.word if noun.kind == "plural" or number == "sg" else noun.plural
        adjs = self.lex.adjectives_for(noun, "a") if self.chance(0.15) and not imperative else ()
        adjective = [self.pick(adjs).word] if adjs else []
        if noun.group == "family":
            if noun.word in ("baby", "kid") and self.chance(0.5):
                det = ["the"]
            elif noun.kind == "count" and number == "sg" and noun.word != "kid" and not imperative and \
                    self.chance(0.15):
                return self.possessor(of_person=True) + head.split()
            elif imperative:
                if owner == "we" and noun.word in ("wife", "husband"):
                    raise _Retry
                det = ["our" if owner == "we" else "your"]
            elif noun.word in ("wife", "husband"):
                det = [self.pick(("my", "your", "his", "her"))]
            else:
                det = [self.poss_det(owner)]
        elif "nposs" in noun.tags:
            det = self.wpick([(["the"], 5), (["that"] if number == "sg" else ["those"], 1)])
            if not adjective and self.chance(0.35) and not imperative:
                adjs = self.lex.adjectives_for(noun, "a")
                adjective = [self.pick(adjs).word] if adjs else []
        elif noun.group == "job":
            personal = noun.word not in ("farmer", "pilot", "chef", "waiter", "journalist", "musician", "engineer",
                                         "student")
            det = self.wpick([(["the"], 5), ([self.poss_det()], 2 if personal else 0)])
        else:
            det = self.wpick([(["the"], 2), ([self.poss_det()], 4)])
        return det + adjective + head.split()

    def subject(self, kind="human"):
        """A subject. kind: human, animate, or a tuple of noun tags (non-human subjects)."""
        if isinstance(kind, tuple):
            noun = self.pick(self.lex.things(kind))
            number = "sg" if "sg" in noun.tags or noun.group == "event" or not self.chance(0.2) else "pl"
            det = self.wpick([("the", 5), ("poss", 1.5 if noun.group in ("device", "animal", "personal") else 0),
                              ("demo", 1 if noun.group != "vehicle" else 0)]) if noun.category == "noun" else "the"
            words = self.np(noun, det, adj=0.1, number=number)
            plural = _is_plural(noun, words)
            if self.chance(0.12):
                return _Subj(["they" if plural else "it"], 3, plural, "they" if plural else "it", False)
            return _Subj(words, 3, plural, "", False)
        if kind == "animate" and self.chance(0.25):
            noun = self.pick(self.lex.things(("pet", "feedable")) or self.lex.group("animal"))
            det = self.wpick([("the", 3), ("poss", 2), ("possessor", 0.5 if noun.group == "animal" else 0)])
            words = self.np(noun, det, adj=0.1, number="sg" if self.chance(0.8) else "pl")
            return _Subj(words, 3, _is_plural(noun, words), "", False)
        choice = self.wpick([("pron", 45), ("name", 20), ("np", 28), ("indef", 7)])
        if choice == "pron":
            pron = self.wpick([("i", 3), ("you", 3), ("he", 2), ("she", 2), ("we", 2), ("they", 2)])
            _, _, person, plural = _PRONOUNS[pron]
            return _Subj([pron], person, plural, pron)
        if choice == "name" and self.lex.names:
            return _Subj([self.pick(self.lex.names).word])
        if choice == "indef":
            return _Subj([self.pick(_INDEFINITES)], pron="indef")
        words = self.person_np()
        head = words[-1]
        plural = head in _PLURAL_PEOPLE
        return _Subj(words, 3, plural)

    def avoid_for(self, subj):
        if subj.pron == "we":
            return ("us", "me")
        if subj.pron in _PRONOUNS:
            return (_PRONOUNS[subj.pron][0],)
        return ()

    # -- locations and destinations --------------------------------------------------------------------

    def place_np(self, place, det="any"):
        """"the station", "my flat", "london"."""
        if place.kind == "proper":
            return [place.word]
        if place.group == "home" or place.word == "room":
            det_words = [self.wpick([("my", 2), ("your", 2), ("our", 2), ("their", 1), ("his", 0.5), ("her", 0.5),
                                     ("the", 1 if place.word != "room" else 0.3)])]
        elif place.group == "room":
            det_words = self.wpick([(["the"], 6), ([self.pick(("my", "your", "our"))], 1)])
        elif det == "demo" or (det == "any" and place.group == "building" and self.chance(0.1)):
            det_words = [self.pick(("this", "that"))]
        else:
            det_words = ["the"]
        return det_words + place.word.split()

    def places(self, spec):
        """Places whose group or word is in `spec`."""
        key = ("places",) + tuple(spec)
        if key not in self.lex._pools:
            self.lex._pools[key] = tuple(n for n in self.lex.nouns if n.category == "place" and (
                n.group in spec or n.word in spec))
        return self.lex._pools[key]

    def location(self, spec=_ANY_PLACE, extra=()):
        """A place adjunct: "at the station", "in the kitchen", "in london"; `extra` adds closed ones."""
        if extra and self.chance(0.25):
            return self.pick(extra).split()
        place = self.pick(self.places(spec))
        return [place.prep] + self.place_np(place)

    def verb_location(self, verb):
        spec = _VERB_PLACES.get(verb.base)
        if spec is None:
            return []
        places, extra = spec
        if verb.base in ("live",) and self.chance(0.25):
            home = self.pick(self.places(("home",)))
            adjs = self.lex.adjectives_for(home, "a")
            adjective = [self.pick(adjs).word] if adjs and self.chance(0.6) else []
            return ["in", _article((adjective or [home.word])[0])] + adjective + home.word.split()
        return self.location(places, extra)

    def destination(self, verb="go"):
        """A motion destination fitting `verb`: "to the market", "home", "to paris", "to the party"."""
        places, extra, events = _VERB_DESTINATIONS.get(verb, _VERB_DESTINATIONS["go"])
        x = self.r.random()
        if x < 0.25 and extra:
            return self.pick(extra).split()
        if events and x < 0.4:
            noun = self.pick(self.lex.things(("plan", "enjoy", "timed")))
            if noun.group == "event" and "watch" not in noun.tags:
                return ["to"] + self.np(noun, self.pick(("the", "poss")), adj=0, number="sg")
        place = self.pick([p for p in self.places(places) if "dest" in p.tags])
        return ["to"] + self.place_np(place, "the")

    def spot(self, kind="thing"):
        """Where a thing is or goes: "on the table", "in the fridge", "under the bed"."""
        if kind == "being":
            x = self.r.random()
            if x < 0.25:
                return self.need(*self.pick(("at the door", "outside", "upstairs", "downstairs", "at home")).split())
            return self.location(("room", "building", "outdoor") if x < 0.8 else ("city",))
        tag = {"food": ("spot_f",), "dish": ("spot_f", "spot_d"), "produce": ("spot_f", "spot_p"),
               "kitchen": ("spot_k",),
               "clothes": ("spot_c",)}.get(kind, ("spot_t",))
        noun = self.pick(self.lex.things(tag))
        if "surface" in noun.tags:
            objects = kind in ("thing", "clothes")
            under = objects and noun.word in ("table", "bed", "sofa", "desk", "chair")
            beside = objects and noun.word in ("bed", "sofa", "desk")
            prep = self.wpick([(["on"], 6), (["under"], 1 if under else 0), (["next", "to"], 0.5 if beside else 0)])
        else:
            prep = ["in"]
        if noun.word == "floor":
            prep = ["on"]
        if "the" in noun.tags or noun.word in ("fridge", "cupboard", "counter"):
            det = ["the"]
        else:
            det = self.wpick([(["the"], 6), ([self.pick(("my", "your", "our"))], 1)])
        return prep + det + noun.word.split()

    def spot_for(self, noun):
        if noun is None:
            return self.spot()
        if noun.group == "dish":
            return self.spot("dish" if "bake" in noun.tags else "food")
        if noun.group == "produce":
            return self.spot(noun.group)
        if noun.group in ("drink",):
            return self.spot("food")
        if noun.group in ("kitchen", "condiment"):
            return self.spot("kitchen")
        if noun.group == "clothes":
            return self.spot("clothes")
        return self.spot()

    # -- verb groups -----------------------------------------------------------------------------------

    def be(self, subj, tense="pres"):
        if tense == "pres":
            return "am" if subj.pron == "i" else ("are" if subj.plural or subj.person == 2 else "is")
        return "were" if subj.plural or subj.person == 2 else "was"

    def verb_group(self, verb, subj, tense, neg=False, question=False, modal="can"):
        """(aux, rest) of a verb group: a statement is subject + aux + rest, a question aux + subject + rest.

        tense: pres, past, prog, pastprog, will, goingto, perf, modal.
        """
        aux, rest = None, []
        if tense in ("pres", "past"):
            if question or neg:
                aux = ("does" if subj.third_sg else "do") if tense == "pres" else "did"
                rest = [verb.base]
            else:
                rest = [(verb.s if subj.third_sg else verb.base) if tense == "pres" else verb.past]
        elif tense in ("prog", "pastprog", "goingto"):
            aux = self.be(subj, "pres" if tense != "pastprog" else "past")
            rest = [verb.ing] if tense != "goingto" else ["going", "to", verb.base]
        elif tense == "will":
            aux, rest = "will", [verb.base]
        elif tense == "perf":
            aux, rest = ("has" if subj.third_sg else "have"), [verb.pp]
        elif tense == "modal":
            aux, rest = modal, [verb.base]
        if neg:
            if aux == "am":
                if question:
                    raise _Retry
                rest = ["not"] + rest
            elif aux in ("might", "may"):
                rest = ["not"] + rest
            else:
                aux = _NEG[aux]
        return aux, rest

    def clause_start(self, subj, aux, contract=0.5):
        """Subject + aux, contracted for pronouns: "she's", "we'll", "i'm"."""
        if aux and subj.pron in _PRONOUNS and self.chance(contract):
            key = (subj.pron, aux)
            if key in _CONTRACT:
                return [_CONTRACT[key]]
            if aux == "will":
                return [subj.pron + "'ll"]
        return subj.words + ([aux] if aux else [])

    # -- complements -----------------------------------------------------------------------------------

    def complement(self, verb, frame, subj, gap=None, imperative=False, question=False):
        """Complements of `verb` in `frame` (one `_complement_KIND` method per frame kind).

        gap: None, "obj" (the object is asked for) or "place" (the place is asked for).
        Returns (words, gap_noun): gap_noun is the noun the object gap stands for (None for persons).
        """
        avoid = self.avoid_for(subj)
        owner = subj.pron if subj.pron in _PRONOUNS else None
        c = _Complement(verb, frame, subj, gap, imperative, question, avoid, owner)
        method = getattr(self, f"_complement_{frame.kind}", None)
        if method is None:
            raise _Retry
        return method(c)

    def _object(self, c, tags_, det_=None, number=None):
        """The object noun phrase of `c.verb` among `tags_`: (words, noun), noun None for persons and meals."""
        if det_ is None:
            det_ = "def" if c.imperative else "any"
        verb, imperative, owner = c.verb, c.imperative, c.owner
        plain = tuple(t for t in tags_ if t not in _SPECIAL_TAGS)
        if imperative and verb.base in ("buy", "get", "order", "pick", "bring", "make",
                                        "cook") and self.chance(0.5):
            det_ = "indef"
        none = not self.lex.things(plain)
        if "P" in tags_ and (none or self.chance(0.5)):
            return self.person(c.avoid, imperative=imperative, owner=owner), None
        if "meal" in tags_ and (none or self.chance(0.3)):
            return [self.pick(("breakfast", "lunch", "dinner"))], None
        if "A" in tags_ and (none or self.chance(0.3)):
            noun = self.pick(self.lex.group("animal"))
            return self.np(noun, self.wpick([("the", 3), ("poss", 1)]), 0.1, owner=owner), noun
        if verb.base in _POSS_VERBS and self.chance(0.6):
            det_ = "poss"
        words, noun, plural = self.thing(plain, det_, owner=owner, imperative=imperative, number=number)
        if self.chance(0.04) and noun.group in _PRONOUN_GROUPS and not imperative:
            words = ["them"] if plural else ["it"]
        return words, noun

    def _gap_noun(self, tags_):
        """The noun an object gap stands for, drawn among `tags_` (None when there is none)."""
        plain = tuple(t for t in tags_ if t not in _SPECIAL_TAGS)
        things = self.lex.things(plain)
        if not things:
            return None
        return self.pick(things)

    def _complement_o(self, c):
        """Transitive: an object, sometimes with a location."""
        verb, tags, gap = c.verb, c.frame.tags, c.gap
        if gap == "obj":
            return [], self._gap_noun(tags)
        if verb.base in ("grow", "plant", "bake"):
            words, noun = self._object(c, tags, "indef", number="pl" if self.chance(0.7) else "sg")
            if words[0] in ("a", "an") and words[-1] not in ("cake", "pie", "pizza", "tree"):
                raise _Retry
        elif c.question and not c.imperative:
            words, noun = self._object(c, tags, "def" if self.chance(0.8) else "any")
        else:
            words, noun = self._object(c, tags)
        if gap == "place":
            return words, None
        thing_object = noun is None or noun.category == "noun"
        if "w" in verb.flags and verb.base != "pick" and thing_object and self.chance(0.4):
            words = words + self.verb_location(verb)
        return words, None

    def _complement_d(self, c):
        """Ditransitive: recipient + thing, or thing + to/for + recipient."""
        verb, tags, avoid, imperative = c.verb, c.frame.tags, c.avoid, c.imperative
        recipient = self.person(avoid, imperative=imperative) if not imperative or self.chance(0.3) else [
            self.pick([p for p in ("me", "us", "him", "her", "me", "me") if p not in avoid])]
        if c.gap == "obj":
            return [self.pick([p for p in ("me", "you", "him", "her", "us",
                                           "them") if p not in avoid])], self._gap_noun(tags)
        if verb.base in _INDEF_OBJECT_VERBS:
            thing, _ = self._object(c, tags, "indef" if self.chance(0.7) else "def")
        else:
            thing, _ = self._object(c, tags, "def" if imperative else self.wpick([("def", 3), ("indef", 1)]))
        if thing in (["it"], ["them"]) or (len(recipient) > 1 and self.chance(0.5)) or self.chance(0.15):
            benefactive = verb.base in _INDEF_OBJECT_VERBS and verb.base not in ("write", "tell")
            return thing + ["for" if benefactive else "to"] + recipient, None
        return recipient + thing, None

    def _complement_p(self, c):
        """Phrasal: the particle before or after the object."""
        verb, frame, tags, avoid, imperative = c.verb, c.frame, c.frame.tags, c.avoid, c.imperative
        if c.gap == "obj":
            return [frame.part], self._gap_noun(tags)
        if frame.part == "up" and verb.base == "pick" and "P" in tags and self.chance(0.5):
            who = self.person(avoid, imperative=imperative, owner=c.owner)
            words = (who + ["up"]) if len(who) == 1 else (["up"] + who)
            return words + (self.verb_location(verb) if c.gap != "place" and self.chance(0.6) else []), None
        if frame.part == "back" and "P" in tags:
            return [self.pick([p for p in ("me", "him", "her", "us", "them") if p not in avoid])] + ["back"], None
        thing, _ = self._object(c, tags, "def")
        if len(thing) == 1 and thing[0] in ("it", "them", "me", "you", "him", "her", "us"):
            return thing + [frame.part], None
        if frame.part in ("into",):
            return [frame.part] + thing, None
        return ([frame.part] + thing if self.chance(0.75) or len(thing) > 3 else thing + [frame.part]), None

    def _complement_q(self, c):
        """A particle alone ("sit down")."""
        return [c.frame.part], None

    def _complement_r(self, c):
        """Prepositional: preposition + object, sometimes a location."""
        verb, frame, tags = c.verb, c.frame, c.frame.tags
        if c.gap == "obj":
            return [frame.part], self._gap_noun(tags)
        thing, _ = self._object(c, tags)
        words = [frame.part] + thing
        if "w" in verb.flags and c.gap != "place" and self.chance(0.4):
            words += self.verb_location(verb)
        return words, None

    def _complement_l(self, c):
        """Put-somewhere: the thing and the spot it goes to."""
        tags = c.frame.tags
        if c.gap == "obj":
            noun = self._gap_noun(tags)
            return self.spot_for(noun), noun
        thing, noun = self._object(c, tags, "def")
        if c.gap == "place":
            return thing, None
        where = self.spot_for(noun)
        if where[-1] == thing[-1] or noun is not None and where[-1] == noun.word:
            raise _Retry
        return thing + where, None

    def _complement_i(self, c):
        """Intransitive: nothing, a location, with someone, a manner adverb or "together"."""
        verb, frame, subj = c.verb, c.frame, c.subj
        if c.gap == "place":
            return [], None
        options = [([], 3)]
        if "L" in frame.codes:
            options.append((self.verb_location(verb), 3))
        if "W" in frame.codes:
            options.append((["with"] + self.person(c.avoid, imperative=c.imperative), 1))
        if "M" in frame.codes:
            options.append(([self.pick(_MANNER.get(verb.base, ("quietly",)))], 1))
        if "A" in frame.codes and subj.plural:
            options.append((["together"], 0.5))
        if verb.base in ("live", "stay", "meet", "arrive"):
            options = options[1:]
        if verb.base == "meet" and not subj.plural:
            raise _Retry
        return self.wpick(options), None

    def _complement_m(self, c):
        """Motion: a destination."""
        if c.gap == "place":
            return [], None
        return self.destination(c.verb.base), None

    def _complement_s(self, c):
        """Non-human subject: nothing, or where it leaves from / arrives or stops at."""
        verb = c.verb
        options = [([], 1)]
        if verb.base in ("leave", "arrive", "stop"):
            stop = self.pick(self.places(_STOPS))
            options.append(([("from" if verb.base == "leave" else "at")] + self.place_np(stop),
                            1 if verb.base != "stop" else 100))
        return self.wpick(options), None

    def frame(self, kinds, imperative=False):
        """A (verb, frame) of one of `kinds` (dict kind -> weight)."""
        kinds = {k: w for k, w in kinds.items() if self.lex.frames.get(k)}
        kind = self.wpick(list(kinds.items()))
        pairs = self.lex.frames[kind]
        if imperative:
            pairs = [(v, f) for v, f in pairs if "x" not in v.flags and "n" not in v.flags]
        return self.pick(pairs)

    def subject_for(self, verb, frame):
        if frame.kind == "s":
            return self.subject(frame.tags)
        animate = "a" in verb.flags and frame.kind in ("i", "q")
        return self.subject("animate" if animate else "human")

    # -- declarative ------------------------------------------------------------------------------------

    _DECL_KINDS = {"o": 40, "d": 8, "p": 10, "q": 5, "r": 10, "l": 5, "i": 10, "m": 8, "s": 6}

    def tense_ok(self, verb, tense):
        if (verb.stative or verb.base in _NO_PROGRESSIVE) and tense in ("prog", "pastprog", "goingto"):
            return False
        if verb.stative and tense == "perf" and verb.base not in ("see", "know"):
            return False
        if tense == "perf" and verb.base in _NO_PERFECT:
            return False
        if "n" in verb.flags and tense in ("will", "goingto", "modal", "prog", "pastprog") and verb.base not in (
                "worry", "argue", "laugh", "smile", "cry", "shout", "miss"):
            return False
        if tense in ("will", "goingto", "modal") and verb.base in _PREFERENCE_VERBS:
            return False
        if tense == "pres" and not (verb.stative or verb.base in _HABIT_VERBS or verb.base in (
                "forget", "lose", "worry", "argue", "cry", "smile", "laugh", "bark")):
            return False
        return True

    def decl_clause(self, tense, time=0.5, neg=0.2, kinds=None, subj=None):
        verb, frame = self.frame(kinds or self._DECL_KINDS)
        if not self.tense_ok(verb, tense) and frame.kind != "s" or (verb.base, frame.kind) in _IMPERATIVE_ONLY:
            raise _Retry
        if frame.kind == "s" and tense in ("prog", "pastprog", "goingto", "modal") and verb.base not in (
                "ring", "bark", "leave", "arrive"):
            raise _Retry
        subj = subj or self.subject_for(verb, frame)
        neg = self.chance(neg) and subj.pron not in ("indef",)
        if frame.kind == "s" and verb.base == "work":
            if tense not in ("pres", "prog", "past"):
                raise _Retry
            neg = tense != "past"
            if tense == "past":
                return subj.words + ["stopped", "working"] + self.pick(([], self.time("past")))
        modal = self.wpick([("can", 3), ("should", 3), ("must", 1), ("might", 2), ("could", 2)])
        if tense == "modal" and verb.stative:
            raise _Retry
        aux, rest = self.verb_group(verb, subj, tense, neg, modal=modal)
        comp, _ = self.complement(verb, frame, subj)
        words = self.clause_start(subj, aux) + rest + comp
        self.last_verb = verb
        if frame.kind in ("i", "q") and not comp:
            if not time:
                raise _Retry
            time = max(time, 0.8)
        if frame.kind == "m" and tense == "prog":
            words += self.time("future") if self.chance(0.5) else []
            time = 0
        if frame.kind == "s" and verb.base in ("start", "begin", "finish", "open", "close", "leave", "arrive") and \
                tense in ("pres", "will") and (verb.base not in ("leave", "arrive") or not comp):
            time = 1
        if not subj.human and frame.kind != "s":
            time = 0
        if time and self.chance(time) and not verb.stative:
            family = {"pres": "habit", "past": "past", "prog": "now", "pastprog": "past", "will": "future",
                      "goingto": "future", "perf": "perf", "modal": "any"}[tense]
            if tense == "pres" and frame.kind == "s":
                family = self.pick(("clock", "habit", "clock"))
                if verb.base in ("start", "begin", "finish"):
                    family = "clock"
            words += self.clock() if family == "clock" else self.time(family)
        return words

    def broken_device(self):
        """"the printer doesn't work", "my laptop isn't working", "the heater stopped working"."""
        words, noun, plural = self.thing(("device", "fix"), det=self.pick(("the", "poss")), adj=0.1, number="sg")
        if noun.category != "noun" or noun.group not in ("device", "personal", "vehicle"):
            raise _Retry
        tail = self.wpick([(["doesn't", "work"], 3), (["isn't", "working"], 2), (["stopped", "working"], 2),
                           (["still", "doesn't", "work"], 1), (["isn't", "working", "again"], 1)])
        return words + tail + (self.time("past") if tail[0] == "stopped" and self.chance(0.4) else [])

    def d_present_simple(self):
        if self.chance(0.08):
            return self.broken_device()
        if self.chance(0.25):
            verb, frame = self.frame(self._DECL_KINDS)
            subj = self.subject_for(verb, frame)
            if subj.pron == "indef" or verb.stative or verb.base in ("move", "leave") or frame.kind == "s" or \
                    not self.tense_ok(verb, "pres"):
                raise _Retry
            adverb = self.pick(("always", "usually", "often", "sometimes", "never", "rarely"))
            aux, rest = self.verb_group(verb, subj, "pres")
            comp, _ = self.complement(verb, frame, subj)
            return subj.words + [adverb] + rest + comp
        return self.decl_clause("pres")

    def d_present_progressive(self):
        return self.decl_clause("prog", time=0.4)

    def d_past(self):
        if self.chance(0.2):
            return self.decl_clause("pastprog", time=0.5)
        return self.decl_clause("past", time=0.4)

    def d_future(self):
        if self.chance(0.4):
            return self.decl_clause("goingto", time=0.4)
        return self.decl_clause("will", time=0.45)

    def d_present_perfect(self):
        verb, frame = self.frame(self._DECL_KINDS)
        if not self.tense_ok(verb, "perf") or (verb.base, frame.kind) in _IMPERATIVE_ONLY:
            raise _Retry
        subj = self.subject_for(verb, frame)
        neg = self.chance(0.25) and subj.pron != "indef"
        aux, rest = self.verb_group(verb, subj, "perf", neg)
        comp, _ = self.complement(verb, frame, subj)
        pre, post = [], []
        if neg:
            post = self.pick(([], ["yet"], ["yet"])) if verb.base in _TIMED_VERBS | _HABIT_VERBS else []
        else:
            x = self.r.random()
            if x < 0.45:
                pre = [self.pick(("already", "just", "never", "finally", "recently", "just", "already"))]
            elif x < 0.7 and not verb.stative and verb.base in _TIMED_VERBS | _HABIT_VERBS:
                post = self.time("perf")
        if pre == ["never"] and verb.base in ("have",):
            raise _Retry
        return self.clause_start(subj, aux) + pre + rest + comp + post

    def d_modal(self):
        return self.decl_clause("modal", time=0.3, neg=0.3)

    def pred_adjective(self, target, states=False):
        """A predicate adjective for a Noun or class name, with an optional degree word."""
        adjs = self.lex.adjectives_for(target, "p")
        if states:
            adjs = tuple(a for a in adjs if a.word in _STATE_ADJ or target != "person")
        adjective = self.pick(adjs)
        words = [adjective.word]
        if adjective.gradable and self.chance(0.5):
            excess = adjective.word in _TOO_ADJ
            words = self.wpick([(["very"], 2), (["too"], 2 if excess else 0), (["really"], 2), (["so"], 1),
                                (["a", "bit"], 1 if excess else 0), (["quite"], 1)]) + words
        elif not adjective.gradable and self.chance(0.3) and adjective.word in _STILL_ADJ:
            words = [self.pick(("still", "already"))] + words
        return words

    def copular_subject(self):
        """(subject, target) for an adjective predicate: target is the noun or "person"."""
        x = self.r.random()
        if x < 0.35:
            subj = self.subject("human")
            return subj, "person"
        if x < 0.45:
            noun = self.pick(self.lex.group("animal"))
            words = self.np(noun, self.wpick([("def", 2), ("poss", 1)]), 0, number="sg")
            return _Subj(words, 3, False, "", False), noun
        groups = ("produce", "dish", "drink", "kitchen", "personal", "object", "furniture", "device", "vehicle",
                  "clothes", "doc", "event", "room", "building", "home", "info")
        noun = self.pick(self.lex.group(*groups))
        if not self.lex.adjectives_for(noun, "p"):
            raise _Retry
        words = self.np(noun, "def", adj=0.1) if noun.category == "noun" \
            else self.place_np(noun)
        plural = noun.kind == "plural" or (noun.plural is not None and words[-1] == noun.plural.split()[-1]
                                          and noun.kind == "count" and words[-1] != noun.word)
        if self.chance(0.12):
            words = ["they"] if plural else ["it"]
            return _Subj(words, 3, plural, words[0], False), noun
        return _Subj(words, 3, plural, "", False), noun

    def copula(self, subj, neg=False, contract=0.5, future=True):
        tense = self.wpick([("pres", 6), ("past", 3), ("will", 1 if future else 0)])
        self.copula_tense = tense
        if tense == "will":
            return self.clause_start(subj, "won't" if neg else "will", contract) + ["be"]
        be = self.be(subj, tense)
        if neg:
            if be == "am":
                return self.clause_start(subj, "am", 1) + ["not"]
            return subj.words + [_NEG[be]]
        return self.clause_start(subj, be, contract)

    def d_copular_adjective(self):
        subj, target = self.copular_subject()
        if subj.pron == "indef":
            raise _Retry
        pred = self.pred_adjective(target)
        adjective = _ADJECTIVES_BY_WORD[pred[-1]]
        group = getattr(target, "group", target)
        if self.chance(0.2) and adjective.gradable and pred[0] not in ("not", "quite"):
            options = ["look"] + (["taste", "smell"] if group in ("dish", "produce", "drink") and adjective.word in (
                "delicious", "sweet", "spicy", "salty", "fresh") else []) + (
                ["sound"] if group == "event" else []) + (["seem", "feel"] if group == "person" else [])
            verb = self.pick(options)
            if self.chance(0.3):
                verb = {"feel": "felt"}.get(verb, verb + "ed")
            elif subj.third_sg:
                verb += "s"
            return subj.words + [verb] + pred
        neg = self.chance(0.2) and pred[0] not in ("not", "still", "already", "quite", "a", "so", "really")
        state = pred[-1] in _STATE_ADJ or target != "person" and pred[-1] in _THING_STATES
        words = self.copula(subj, neg, future=state) + pred
        if words[-len(pred) - 1] == "be" and pred[0] in ("still", "already"):
            words = words[:-len(pred) - 1] + [pred[0], "be"] + pred[1:]
        if target == "person" and state and self.chance(0.2) and words[-2:-1] != ["be"]:
            words += self.time(self.pick(("now", "today")))
        elif isinstance(target, Noun) and target.category == "place" and self.chance(0.3) and pred[-1] in (
                "busy", "crowded", "quiet", "closed", "open", "empty"):
            words += self.pick((["today"], ["on", self.pick(_DAYS) + "s"], ["at", "the", "weekend"], ["tonight"]))
        return words

    def d_copular_noun(self):
        x = self.r.random()
        if x < 0.3:  # my brother is a doctor
            subj = self.subject("human")
            if subj.pron == "indef" or subj.words[-1] in _CHILDREN:
                raise _Retry
            job = self.pick(self.lex.group("job"))
            if job.word in subj.words or job.plural in subj.words:
                raise _Retry
            if subj.plural:
                pred = [job.plural]
            else:
                adjs = [a for a in self.lex.adjectives_for(job, "a")
                        if a.word in ("new", "famous", "strict", "young", "kind", "friendly")]
                adjective = [self.pick(adjs).word] if adjs and self.chance(0.25) else []
                pred = [_article((adjective or [job.word])[0])] + adjective + [job.word]
            return self.copula(subj, contract=0.6, future=False) + pred
        if x < 0.5:  # this is my sister / anna is my cousin / these are my keys
            if self.chance(0.5):
                rel = self.pick([n for n in self.lex.group("family", "people") if "nposs" not in n.tags])
                plural = rel.kind == "plural"
                if not plural and rel.word in _NEUTRAL_RELATIONS and self.lex.names and self.chance(0.5):
                    lead = [self.pick(self.lex.names).word, self.pick(("is", "is", "was"))]
                elif plural:
                    lead = self.pick((["these", "are"], ["they're"], ["those", "are"]))
                else:
                    lead = self.pick((["this", "is"], ["that's"], ["this", "is"]))
                    if rel.word in _GENDER and self.chance(0.3):
                        lead = ["he's"] if _GENDER[rel.word] == "m" else ["she's"]
                poss = self.pick(("my", "your", "our", "his", "her", "their") if lead[0] not in ("he's", "she's")
                                 else ("my", "your", "our", "their"))
                tail = [poss] + rel.word.split()
                if rel.word == "friend" and self.chance(0.3):
                    tail = [poss, "best", "friend"]
                if lead[0] in ("this", "that's") and not plural and self.lex.names and self.chance(0.3):
                    tail += [self.pick(self.lex.names).word]
                return lead + tail
            words, noun, plural = self.thing(("portable", "vehicle", "clothes", "pet"), det="poss", adj=0.3)
            lead = self.pick(((["these", "are"], ["those", "are"], ["they're"]) if plural else
                              (["this", "is"], ["that's"], ["it's"], ["that", "was"])))
            return lead + words
        if x < 0.8:  # the keys are on the table / your phone is in the kitchen
            words, noun, plural = self.thing(("portable", "food", "clothes", "doc", "pet"), det="def", adj=0.15)
            subj = _Subj(words, 3, plural, "", False)
            where = self.spot("being") if noun.group == "animal" else self.spot_for(noun)
            if noun.group in ("personal", "object", "clothes", "doc") and self.chance(0.3):
                where = self.location(("room", "office", "car park", "garage"))
            return self.copula(subj, self.chance(0.15)) + where
        subj = self.subject("human")
        if subj.pron == "indef":
            raise _Retry
        if self.chance(0.3):
            place = self.pick(self.lex.group("city", "country"))
            return self.copula(subj, contract=0.6) + [self.pick(("from", "in", "in"))] + [place.word]
        words = self.copula(subj, self.chance(0.15)) + self.spot("being")
        if self.chance(0.3):
            words += self.time({"pres": "now", "past": "past", "will": "future"}[self.copula_tense])
        return words

    def d_weather(self):
        x = self.r.random()
        where = self.pick(([], [], ["outside"], ["today"], ["in", "here"], ["this", "morning"], ["tonight"]))
        if x < 0.45:
            adjective = self.pick(self.lex.adjectives_for("weather", "p"))
            degree = self.pick(([], [], ["very"], ["really"], ["so"], ["a", "bit"],
                                ["too"])) if adjective.gradable else []
            lead = self.wpick([(["it's"], 4), (["it", "was"], 2), (["it", "is"], 1), (["it's", "getting"], 1),
                               (["it", "will", "be"], 1), (["it's", "going", "to", "be"], 1)])
            if lead[-1] == "getting":
                degree = []
            if self.chance(0.3):
                room = self.pick(self.lex.group("room"))
                where = ["in", "the"] + room.word.split()
            return lead + degree + [adjective.word] + where
        if x < 0.8:
            verb = self.pick(("rain", "snow"))
            form = self.wpick([(["it's", verb + "ing"], 3), (["it", "was", verb + "ing"], 2),
                               (["it's", "going", "to", verb], 2), (["it", verb + "ed"], 1),
                               (["it", "will", verb], 1), (["it", "might", verb], 1),
                               (["it", "never", verb + "s"], 0.5),
                               (["it", "hasn't", verb + "ed"], 0.5)])
            tail = {"it's": self.pick(([], ["again"], ["outside"], ["hard"], ["now"])),
                    "was": self.duration() if self.chance(0.5) else self.time("past"),
                    "going": self.time("future"), verb + "ed": self.time("past"), "will": self.time("future"),
                    "might": self.time("future"), "never": ["here"], "hasn't": ["for", self.number(), "weeks"]}
            key = form[1] if form[0] != "it's" else ("going" if form[1] == "going" else "it's")
            return form + tail.get(key, [])
        adjective = self.pick(self.lex.adjectives_for("weather", "a"))
        noun = self.pick(("day", "morning", "evening", "night", "weekend"))
        lead = self.pick((["it's"], ["it", "was"], ["what"], ["it's", "going", "to", "be"]))
        if lead == ["what"]:
            lead = ["it", "was", "such"]
        return lead + [_article(adjective.word), adjective.word, noun]

    def d_existential(self):
        x = self.r.random()
        if x < 0.6:
            groups = self.wpick([(("portable",), 3), (("food", "drink"), 3), (("doc",), 2), (("pet",), 2),
                                 (("human",), 2)])
            neg = self.chance(0.25)
            pool = self.lex.things(groups)
            if groups == ("human",):
                pool = tuple(n for n in pool if "nposs" in n.tags or n.group == "job")
                neg = False
            noun = self.pick(pool)
            number = "pl" if noun.kind == "plural" or (noun.kind == "count" and self.chance(0.4)
                                                       and groups != ("human",)) else "sg"
            if neg:
                head = noun.plural if number == "pl" and noun.plural else noun.word
                det = self.pick((["no"], ["any"])) if number != "sg" or noun.kind == "mass" else ["no"]
                words = det + head.split()
            else:
                words = self.np(noun, "indef", adj=0 if groups == ("human",) else 0.15,
                                number=number if noun.kind == "count" else None)
            plural = number == "pl"
            if neg:
                lead = (["there", "aren't"] if det == ["any"] else ["there", "are"]) if plural else (
                    ["there", "isn't"] if det == ["any"] else self.pick((["there's"], ["there", "is"])))
                if not plural and det == ["any"] and noun.kind == "count":
                    raise _Retry
            else:
                lead = self.wpick([((["there", "are"] if plural else self.pick((["there's"], ["there", "is"]))), 4),
                                   ((["there", "were"] if plural else ["there", "was"]), 2)])
            if "send" in noun.tags and self.chance(0.4):
                where = ["for", self.pick(("you", "you", "him", "her", "us", "them"))]
            elif "human" in noun.tags:
                where = self.need(*self.pick(("at the door", "outside", "downstairs", "in the kitchen", "in the garden",
                                              "in the office", "at the station", "in the waiting room")).split())
            elif noun.group == "animal":
                where = self.spot("being")
            else:
                where = self.spot_for(noun)
            return lead + words + where
        if x < 0.85:
            noun = self.pick(self.lex.things(("timed",)))
            words = self.np(noun, "indef", adj=0, number="sg")
            tense = self.pick(("pres", "past", "will"))
            lead = {"pres": self.pick((["there's"], ["there", "is"])), "past": ["there", "was"],
                    "will": ["there", "will", "be"]}[tense]
            when = self.time({"pres": "future", "past": "past", "will": "future"}[tense])
            spec = _EVENT_PLACES.get(noun.word)
            where = self.location(spec) if spec and self.chance(0.4) else []
            return lead + words + where + when
        info = self.need(self.pick(("problem", "mistake")))[0]
        target = self.thing(("drive", "ride", "device", "doc", "personal"), det="def", adj=0, number="sg")
        prep = "in" if target[1].group == "doc" and info == "mistake" else "with"
        if info == "mistake" and prep == "with":
            info = "problem"
        lead = self.need(*self.pick(("there's a", "there was a", "there's a small", "there's a big")).split())
        return lead + [info, prep] + target[0]

    def d_fronted(self):
        x = self.r.random()
        if x < 0.55:
            tense = self.wpick([("past", 5), ("will", 2), ("goingto", 1), ("pres", 2)])
            family = {"past": "past", "will": "future", "goingto": "future", "pres": "habit"}[tense]
            front = self.time(family)
            if front in (["later"], ["soon"], ["before"], ["again"], ["twice"]):
                raise _Retry
            comma = [","] if self.chance(0.2) else []
            body = self.decl_clause(tense, time=0, neg=0.15)
            if self.last_verb.stative or (tense == "pres" and self.last_verb.base not in _HABIT_VERBS):
                raise _Retry
            return front + comma + body
        adverb = self.pick(("maybe", "perhaps", "luckily", "unfortunately", "actually", "honestly", "apparently",
                            "suddenly", "finally", "of course", "by the way", "sometimes", "usually", "probably"))
        neg = 0 if adverb in ("suddenly", "finally", "luckily") else 0.15
        tense = {"suddenly": "past", "finally": "past", "sometimes": "pres", "usually": "pres"}.get(
            adverb, self.wpick([("past", 4), ("pres", 2), ("perf", 1), ("will", 1), ("prog", 1)]))
        if tense == "perf":
            body = self.d_present_perfect()
        else:
            body = self.decl_clause(tense, time=0 if adverb in ("suddenly", "finally", "usually", "sometimes") else 0.2,
                                    neg=neg)
        comma = [","] if (adverb in ("honestly", "actually", "by the way", "of course", "unfortunately",
                                    "luckily") and self.chance(0.6)) or self.chance(0.1) else []
        if adverb == "probably":
            adverb = "most likely"
        return adverb.split() + comma + body

    def vocative(self):
        if self.chance(0.6) and self.lex.names:
            return [self.pick(self.lex.names).word, ","]
        return [self.pick(_VOCATIVES), ","]

    def d_vocative(self):
        lead = self.vocative()
        you = _Subj(["you"], 2, False, "you")
        body = self.wpick([(lambda: self.decl_clause(self.pick(("past", "perf", "will", "prog")), subj=you,
                                                     kinds={"o": 4, "d": 1, "p": 1, "l": 1}), 3),
                           (lambda: self.decl_clause(self.pick(("past", "prog", "will", "pres"))), 2),
                           (self.d_copular_noun, 1), (self.d_existential, 1), (self.d_copular_adjective, 1)])()
        if body[0] in ("he", "she", "he's", "she's", "they", "they're", "he'll", "she'll", "they'll", "they've"):
            raise _Retry
        return lead + body

    def pronoun_subject(self):
        pron = self.wpick([("i", 3), ("you", 2), ("he", 2), ("she", 2), ("we", 2), ("they", 2)])
        return _Subj([pron], _PRONOUNS[pron][2], _PRONOUNS[pron][3], pron)

    def d_compound(self):
        x = self.r.random()
        short = {"o": 4, "i": 2, "q": 1, "m": 2, "r": 1, "p": 1}
        if x < 0.3:  # she stayed at home because she was sick / i was cooking when you called
            subj = self.pronoun_subject()
            if self.chance(0.55):
                thing_reason = self.chance(0.4)
                first = self.decl_clause("past", time=0.2, neg=1 if thing_reason else 0.2, kinds=short, subj=subj)
                if not thing_reason:
                    state = self.pick([a.word for a in self.lex.adjectives_for("person", "p") if a.word in _STATE_ADJ])
                    reason = subj.words + [self.be(subj, "past"), self.pick(("too", "really", "so", "very")) if
                                           self.chance(0.3) and state in _TOO_ADJ else ""] + [state]
                else:
                    thing, noun, plural = self.thing(("shop", "transit", "fix", "timed"), det="the", adj=0, number="sg")
                    preds = {"building": ("closed", "busy", "crowded"), "vehicle": ("late", "full", "broken"),
                             "event": ("cancelled", "over")}.get(noun.group, ("broken",))
                    pred = self.pick([p for p in preds if p in self.lex.words or p in CLOSED_WORDS] or [None])
                    if pred is None:
                        raise _Retry
                    reason = thing + ["was", pred]
                return first + ["because"] + [w for w in reason if w]
            first = self.decl_clause("pastprog", time=0, neg=0, kinds={"o": 3, "i": 2, "r": 1}, subj=subj)
            other = self.pronoun_subject()
            verb, frame = self.frame({"q": 1, "m": 1, "i": 1})
            if frame.kind == "i" and verb.base not in ("call", "arrive", "leave", "cry", "laugh", "shout"):
                raise _Retry
            comp, _ = self.complement(verb, frame, other)
            return first + ["when"] + other.words + [verb.past] + comp
        subj = self.pronoun_subject() if self.chance(0.6) else self.subject("human")
        if subj.pron == "indef":
            raise _Retry
        first = self.decl_clause("past", time=0.3, neg=0, kinds=short, subj=subj)
        conj = self.wpick([("and", 3), ("but", 3), ("so", 2)])
        if conj == "and":  # she cooked dinner and watched a film
            verb, frame = self.frame({"o": 4, "m": 2, "q": 1, "p": 1, "r": 1})
            if not self.tense_ok(verb, "past") or (verb.base, frame.kind) in _IMPERATIVE_ONLY or frame.kind == "s":
                raise _Retry
            comp, _ = self.complement(verb, frame, subj)
            return first + ["and"] + self.pick((["then"], [], [])) + [verb.past] + comp
        other = self.pronoun_subject()
        if conj == "but":  # i called her but she was busy / but they didn't come
            if self.chance(0.5):
                state = self.pick([a.word for a in self.lex.adjectives_for("person", "p") if a.word in _STATE_ADJ])
                return first + ["but"] + other.words + [self.be(other, "past"), state]
            verb, frame = self.frame({"q": 2, "m": 1, "i": 1})
            if not self.tense_ok(verb, "past") or (verb.base, frame.kind) in _IMPERATIVE_ONLY:
                raise _Retry
            comp, _ = self.complement(verb, frame, other)
            return first + ["but"] + other.words + ["didn't", verb.base] + comp
        # so we stayed at home / so i went to bed
        verb, frame = self.frame({"m": 3, "q": 1, "i": 1})
        if (verb.base, frame.kind) in _IMPERATIVE_ONLY or verb.base in ("worry", "argue"):
            raise _Retry
        comp, _ = self.complement(verb, frame, other)
        return first + ["so"] + other.words + [verb.past] + comp

    def infinitive_vp(self, subj, kinds=None):
        verb, frame = self.frame(kinds or {"o": 5, "d": 1, "p": 2, "q": 1, "r": 1, "m": 2, "i": 1, "l": 1},
                                 imperative=True)
        if (verb.base, frame.kind) in _IMPERATIVE_ONLY:
            raise _Retry
        comp, _ = self.complement(verb, frame, subj)
        return ["to", verb.base] + comp

    def d_infinitive(self):
        subj = self.subject("human")
        x = self.r.random()
        if x < 0.25:
            head = self.wpick([(["have"] if not subj.third_sg else ["has"], 3), (["had"], 2),
                               (["need"] if not subj.third_sg else ["needs"], 2)])
            words = subj.words + head
        elif x < 0.35 and subj.pron in _PRONOUNS:
            words = [subj.pron + "'d", "like"] if self.chance(0.6) else subj.words + ["would", "like"]
        else:
            verbs = [v for v, f in self.lex.frames["t"]]
            verb = self.pick(verbs)
            tense = self.wpick(_INFINITIVE_TENSES.get(verb.base, [("past", 1)]))
            neg = self.chance(0.15) and subj.pron != "indef"
            aux, rest = self.verb_group(verb, subj, tense, neg)
            words = self.clause_start(subj, aux) + rest
        vp = self.infinitive_vp(subj)
        if self.chance(0.25) and words[-1] not in ("like", "love", "hate", "likes", "loves", "hates") and \
                self.lex.by_base.get(vp[1]) and vp[1] in _TIMED_VERBS:
            vp += self.time("future")
        return words + vp

    def d_reported(self):
        lead = self.wpick([(["i", "think"], 4), (["i", "guess"], 1), (["i'm", "sure"], 2), (["i", "heard"], 1),
                           (["i", "hope"], 2), (["i", "know"], 1), ([self.pick(("he", "she", "they")), "said"], 2),
                           (["i", "bet"], 1), (["it", "seems"], 0.5), (["i", "don't", "think"], 1)])
        if lead == ["it", "seems"]:
            lead += ["like"]
        body = self.wpick([(lambda: self.decl_clause(self.pick(("past", "pres", "will", "prog")), time=0.25,
                                                     neg=0.1 if lead[-1] != "think" or "don't" not in lead else 0), 4),
                           (self.d_copular_adjective, 2), (self.d_present_perfect, 1)])()
        if lead[-1] == "hope" and body[0] in ("nobody",):
            raise _Retry
        if self.chance(0.15):
            lead = lead + ["that"]
        return lead + body

    # -- wh-questions -----------------------------------------------------------------------------------

    _WH_TENSES = (("pres", 2), ("past", 6), ("prog", 2), ("will", 1.5), ("modal", 1.5), ("perf", 1.5))

    def question(self, verb, frame, tense=None, gap=None, neg=False, subj=None, modal=None):
        """aux + subject + rest + complements (a question after its wh-word); returns (words, gap_noun)."""
        tense = tense or self.wpick(list(self._WH_TENSES))
        if (verb.base, frame.kind) in _IMPERATIVE_ONLY:
            raise _Retry
        if verb.stative and tense == "past" and self.chance(0.7):
            tense = "pres"
        if not self.tense_ok(verb, tense) or (tense in ("modal", "will") and verb.stative):
            raise _Retry
        subj = subj or self.subject_for(verb, frame)
        if subj.pron == "i" and tense in ("prog", "perf", "will", "pres") and self.chance(0.7):
            subj = self.subject_for(verb, frame)
        if subj.pron == "indef":
            subj = self.subject("human")
            if subj.pron == "indef":
                raise _Retry
        modal = modal or self.wpick([("can", 3), ("should", 3), ("could", 1)])
        aux, rest = self.verb_group(verb, subj, tense, neg, question=True, modal=modal)
        comp, noun = self.complement(verb, frame, subj, gap=gap, question=True)
        return [aux] + subj.words + rest + comp, noun

    def wh_contract(self, wh, words):
        """what is -> what's (sometimes)."""
        if words and words[0] == "is" and wh in ("what", "where", "who", "how", "when") and self.chance(0.5):
            return [wh + "'s"] + words[1:]
        return [wh] + words

    def wh_what(self):
        x = self.r.random()
        if x < 0.12:
            tense = self.wpick([("past", 3), ("prog", 3), ("modal", 2), ("pres", 1), ("will", 1), ("perf", 1)])
            subj = self.subject("human")
            if subj.pron == "indef":
                raise _Retry
            verb = self.lex.by_base["do"]
            aux, rest = self.verb_group(verb, subj, tense, question=True, modal=self.pick(("should", "can")))
            tail = self.pick(([], [], self.time({"past": "past", "prog": "now", "modal": "any", "pres": "habit",
                                                 "will": "future", "perf": "perf"}[tense])))
            if tense == "pres" and not tail:
                tail = self.pick((["for", "a", "living"], ["at", "the", "weekend"], self.time("habit")))
            return self.wh_contract("what", [aux] + subj.words + rest + tail)
        verb, frame = self.frame({"o": 8, "d": 1, "p": 1, "r": 2, "l": 1})
        if "P" in frame.tags and not self.lex.things(tuple(t for t in frame.tags if t not in _SPECIAL_TAGS)):
            raise _Retry
        words, noun = self.question(verb, frame, gap="obj")
        if noun is None or frame.part in ("after", "on") or noun.group in ("baby", "family", "job", "people") or \
                verb.base in ("walk",):
            raise _Retry
        if x < 0.3 and noun.kind not in ("proper", "bare") and verb.base in _KIND_VERBS:
            kind = self.pick(("kind", "sort"))
            head = noun.plural if noun.kind == "count" and self.chance(0.5) else noun.word
            return ["what", kind, "of"] + head.split() + words
        if self.chance(0.35) and words[0] in ("did", "will") and not verb.stative:
            words += self.time({"did": "past", "will": "future"}[words[0]])
        return self.wh_contract("what", words)

    def wh_who(self):
        kinds = {"o": 6, "r": 3, "d": 1}
        for _ in range(10):
            verb, frame = self.frame(kinds)
            if "P" in frame.tags or frame.kind == "d":
                break
        else:
            raise _Retry
        tense = self.wpick(list(self._WH_TENSES))
        if frame.kind == "d":
            subj = self.subject("human")
            if subj.pron == "indef" or verb.base not in _TO_WHOM_VERBS:
                raise _Retry
            aux, rest = self.verb_group(verb, subj, tense, question=True, modal=self.pick(("should", "can")))
            thing, _, _ = self.thing(tuple(t for t in frame.tags if t not in _SPECIAL_TAGS), det="def")
            return ["who", aux] + subj.words + rest + thing + ["to"]
        subj = self.subject("human")
        if subj.pron == "indef" or not self.tense_ok(verb, tense) or (tense in ("modal", "will") and verb.stative):
            raise _Retry
        aux, rest = self.verb_group(verb, subj, tense, question=True, modal=self.pick(("should", "can")))
        tail = [frame.part] if frame.kind == "r" else []
        if frame.kind == "o" and "w" in verb.flags and self.chance(0.25):
            tail = self.verb_location(verb)
        if self.chance(0.35) and tense in ("past", "will") and not verb.stative:
            tail += self.time("past" if tense == "past" else "future")
        wh = "whom" if frame.kind == "o" and self.chance(0.2) else "who"
        return self.wh_contract(wh, [aux] + subj.words + rest + tail)

    def wh_which(self):
        verb, frame = self.frame({"o": 8, "p": 1, "r": 1, "l": 1})
        words, noun = self.question(verb, frame, gap="obj")
        if noun is None or noun.kind in ("proper", "bare") or verb.base in ("have",) or frame.part in ("on",) or \
                noun.group in ("baby",):
            raise _Retry
        wh = self.wpick([("which", 3), ("whose", 1 if noun.category == "noun" and noun.group not in (
            "produce", "dish", "drink", "condiment", "event", "info", "chore", "family", "job", "people") else 0)])
        if noun.kind == "mass" and wh == "which":
            raise _Retry
        head = noun.word if noun.kind != "count" or self.chance(0.7) or "sg" in noun.tags or (
            noun.group not in _PLURAL_GROUPS and noun.word != "key") else noun.plural
        if self.chance(0.1) and wh == "which" and noun.kind == "count":
            head = "one"
        return [wh] + head.split() + words

    def wh_where(self):
        x = self.r.random()
        if x < 0.35:
            verb, frame = self.frame({"m": 3, "i": 2})
            if frame.kind == "i" and ("L" not in frame.codes or verb.base == "arrive") or verb.base == "come":
                raise _Retry
            tense = None if verb.base in _HABIT_VERBS else self.pick(("past", "prog", "will", "perf"))
            words, _ = self.question(verb, frame, tense, gap="place", subj=self.subject("human"))
            if frame.kind == "m" and self.chance(0.25) and words[0] in ("did", "will", "are", "is", "should"):
                words += self.time({"did": "past"}.get(words[0], "future"))
        elif x < 0.75:
            pairs = [(v, f) for v, f in self.lex.frames["o"] if v.base in _WHERE_VERBS and not {"win", "leave"} & set(
                f.tags)] + self.lex.frames["l"]
            verb, frame = self.pick(pairs)
            words, _ = self.question(verb, frame, gap="place")
        elif x < 0.85:
            subj = self.subject("human")
            if subj.pron == "indef":
                raise _Retry
            words = [self.be(subj)] + subj.words + ["from"]
            if self.chance(0.4):
                aux = "does" if subj.third_sg else "do"
                words = [aux] + subj.words + ["come", "from"]
        else:
            subj = self.subject("human")
            if subj.pron == "indef":
                raise _Retry
            aux = self.pick(("should", "can", "could"))
            verb = self.pick([v for v, f in self.lex.frames["i"] if "L" in f.codes and not v.stative
                              and v.base not in ("arrive",)] or [None])
            if verb is None:
                raise _Retry
            if verb.base == "meet" and not subj.plural:
                raise _Retry
            words = [aux] + subj.words + [verb.base]
        return self.wh_contract("where", words)

    def wh_when(self):
        x = self.r.random()
        if x < 0.35:
            verb, frame = self.pick([(v, f) for v, f in self.lex.frames["s"] if v.base not in ("stop", "bark", "ring")])
            subj = self.subject(frame.tags)
            tense = self.wpick([("pres", 4), ("past", 2), ("will", 2)])
            aux, rest = self.verb_group(verb, subj, tense, question=True)
            return ["when", aux] + subj.words + rest
        verb, frame = self.frame(self._DECL_KINDS)
        if verb.base not in _TIMED_VERBS | _HABIT_VERBS or frame.kind == "l":
            raise _Retry
        tense = self.wpick([("past", 4), ("will", 3), ("pres", 2), ("prog", 2), ("modal", 2)])
        words, _ = self.question(verb, frame, tense)
        return self.wh_contract("when", words)

    def wh_why(self):
        verb, frame = self.frame(self._DECL_KINDS)
        tense = self.wpick([("past", 4), ("pres", 3), ("prog", 3), ("will", 1), ("modal", 1), ("perf", 1)])
        neg = self.chance(0.35)
        if neg and self.chance(0.3):  # why don't we ...
            subj = self.pick((_Subj(["we"], 1, True, "we"), _Subj(["you"], 2, False, "you")))
            if frame.kind == "s" or "x" in verb.flags or "n" in verb.flags:
                raise _Retry
            comp, _ = self.complement(verb, frame, subj)
            return ["why", "don't"] + subj.words + [verb.base] + comp
        if tense in ("will", "modal") and not neg:
            raise _Retry
        words, _ = self.question(verb, frame, tense, neg=neg, modal=self.pick(("can", "should")) if not neg else "can")
        if not neg and tense in ("past",
                                 "will") and self.chance(0.4) and verb.base in _TIMED_VERBS and frame.kind != "l":
            words += self.time("past" if tense == "past" else "future")
        if words[0] in ("won't", "am", "aren't") and words[1] == "i":
            raise _Retry
        return ["why"] + words

    def wh_how(self):
        x = self.r.random()
        if x < 0.4:
            verb, frame = self.frame({"o": 6, "d": 1, "p": 1, "l": 1, "m": 1})
            if verb.base in ("have", "want", "need") or verb.base in _PREFERENCE_VERBS:
                raise _Retry
            tense = self.wpick([("past", 4), ("pres", 3), ("modal", 3), ("will", 1)])
            words, _ = self.question(verb, frame, tense)
            return ["how"] + words
        if x < 0.55:
            subj = self.subject("human")
            if subj.pron == "indef":
                raise _Retry
            aux = self.pick(("do", "can", "did", "should")) if subj.pron in ("i", "you", "we", "they") else \
                self.pick(("does", "can", "did", "should"))
            dest = self.pick((["here"], ["there"], ["home"], ["downtown"])) if self.chance(0.3) else \
                self.destination("get")
            if dest[0] == "to" and dest[1] in ("work", "school", "bed"):
                dest = ["to", "the"] + self.place_np(self.pick(self.lex.group("building")))[1:]
            return ["how", aux] + subj.words + ["get"] + dest
        if x < 0.75:
            verb, frame = self.frame({"o": 5, "m": 3, "i": 2, "r": 1})
            if verb.base not in _HABIT_VERBS:
                raise _Retry
            words, _ = self.question(verb, frame, "pres", subj=self.subject("human"))
            return ["how", "often"] + words
        y = self.r.random()
        if y < 0.35:
            subj = self.subject("human")
            if subj.pron == "indef":
                raise _Retry
            aux = "has" if subj.third_sg else "have"
            body = self.wpick([(["lived"] + self.location(("city", "country")), 2),
                               (["known"] + self.person(self.avoid_for(subj)), 1),
                               (["worked"] + self.location(("building",)), 1),
                               (["been", "waiting"], 1),
                               (["had"] + self.thing(("pet", "drive", "ride"), det="poss", adj=0)[0], 1),
                               (["studied"] + self.thing(("language",), det="none")[0], 1)])
            return ["how", "long", aux] + subj.words + body
        if y < 0.7:
            bases = ("wait", "stay", "sleep", "work", "study", "live")
            verb = self.pick([v for v in (self.lex.by_base.get(b) for b in bases) if v is not None])
            frame = [f for f in verb.frames if f.kind == "i"][0]
            tense = self.wpick([("past", 3), ("will", 2), ("modal", 1), ("pres", 1 if verb.base == "sleep" else 0)])
            words, _ = self.question(verb, frame, tense)
            return ["how", "long"] + words
        return ["how", "long", "does", "it", "take", "to", "get", "to"] + self.place_np(
            self.pick([p for p in self.lex.group("building", "outdoor") if "dest" in p.tags]))

    def wh_what_time(self):
        x = self.r.random()
        if x < 0.45:
            verb, frame = self.pick(self.lex.frames["s"])
            if verb.base in ("bark", "ring", "stop"):
                raise _Retry
            subj = self.subject(frame.tags)
            tense = self.wpick([("pres", 4), ("past", 1), ("will", 2)])
            aux, rest = self.verb_group(verb, subj, tense, question=True)
            return ["what", "time", aux] + subj.words + rest
        if x < 0.85:
            verb, frame = self.frame({"m": 3, "q": 1, "i": 1, "o": 3})
            if frame.kind == "q" and frame.part not in ("up", "back", "in", "out"):
                raise _Retry
            scheduled = _SCHEDULE_VERBS - {"open", "close", "start", "finish", "book", "get", "eat", "work", "study",
                                           "play"}
            if frame.kind in ("o", "i") and verb.base not in scheduled or frame.kind == "m" and verb.base not in (
                    "go", "come", "get", "walk"):
                raise _Retry
            tense = self.wpick([("pres", 2), ("past", 2), ("will", 2), ("modal", 2), ("prog", 1)])
            words, _ = self.question(verb, frame, tense, modal="should")
            return ["what", "time"] + words
        if self.chance(0.3):
            return ["what", "time", "is", "it", "in", self.pick(self.lex.group("city")).word]
        noun = self.pick(self.lex.things(("timed", "book")))
        if noun.group != "event":
            raise _Retry
        words = self.np(noun, self.pick(("the", "poss")), 0, number="sg")
        be = self.pick(("is", "is", "was"))
        return ["what", "time", be] + words + (self.pick(([], [], ["tomorrow"], ["tonight"], ["on", self.pick(_DAYS)]))
                                               if be == "is" else self.pick(([], ["yesterday"], ["last", "night"])))

    def wh_how_many(self):
        x = self.r.random()
        if x < 0.6:
            verb, frame = self.frame({"o": 8, "d": 1, "l": 1})
            words, noun = self.question(verb, frame, gap="obj")
            if noun is None or verb.base not in _COUNT_VERBS or noun.kind in ("proper", "bare") or \
                    "sg" in noun.tags or "the" in noun.tags or (
                    noun.kind == "plural" and noun.group in ("personal", "object", "clothes") and noun.word not in (
                        "shoes", "socks", "gloves", "boots")) or noun.category == "place" or \
                    verb.base in _PREFERENCE_VERBS or noun.group in ("info", "chore", "event", "baby"):
                raise _Retry
            if noun.kind == "mass":
                return ["how", "much"] + noun.word.split() + words
            head = noun.plural if noun.kind == "count" else noun.word
            return ["how", "many"] + head.split() + words
        if x < 0.8:
            subj = self.subject("human")
            if subj.pron == "indef":
                raise _Retry
            aux = self.pick(("did", "does" if subj.third_sg else "do", "will"))
            thing, _, plural = self.thing(("buy",), det="def", adj=0.1)
            return self.pick((["how", "much", aux] + subj.words + ["pay", "for"] + thing,
                              ["how", "much", "do" if plural else "does"] + thing + ["cost"],
                              ["how", "much", "did"] + thing + ["cost"]))
        noun = self.pick(self.lex.group("people", "job"))
        verb, frame = self.frame({"o": 4, "i": 2, "m": 2, "r": 1})
        subj = _Subj([noun.plural], 3, True)
        tense = self.wpick([("past", 3), ("prog", 2), ("will", 1), ("perf", 1)])
        if not self.tense_ok(verb, tense) or frame.kind == "s":
            raise _Retry
        aux, rest = self.verb_group(verb, subj, tense)
        comp, _ = self.complement(verb, frame, subj)
        if not comp:
            raise _Retry
        return ["how", "many", noun.plural] + ([aux] if aux else []) + rest + comp

    def wh_subject(self):
        x = self.r.random()
        if x < 0.5:
            verb, frame = self.frame({"o": 6, "d": 1, "p": 1, "r": 1, "i": 1, "m": 2, "l": 1})
            subj = _Subj(["who"], 3, False, "who")
            tense = self.wpick([("past", 5), ("pres", 2), ("prog", 2), ("will", 1), ("perf", 1)])
            if not self.tense_ok(verb, tense):
                raise _Retry
            aux, rest = self.verb_group(verb, subj, tense)
            comp, _ = self.complement(verb, frame, subj)
            words = ["who"] + ([aux] if aux else []) + rest + comp
            if aux == "is" and self.chance(0.5):
                words = ["who's"] + words[2:]
            if tense in ("past", "will", "prog") and self.chance(0.2) and verb.base in _TIMED_VERBS:
                words += self.time({"past": "past", "will": "future", "prog": "now"}[tense])
            return words
        if x < 0.62:
            thing = self.thing(("personal", "vehicle", "device", "furniture", "pet"), det="def", adj=0)[0]
            event = self.pick(self.lex.things(("timed",))).word.split()
            room = self.pick(self.lex.group("room")).word.split()
            name = [self.pick(self.lex.names).word] if self.lex.names else ["you"]
            what = self.pick((["to"] + thing, ["at", "the"] + event, self.time("past"), ["here"], ["in", "the"] + room,
                              ["to"] + name))
            return ["what", "happened"] + what
        if x < 0.8:
            verb, frame = self.pick([(v, f) for v, f in self.lex.frames["s"] if v.base in (
                "ring", "bark", "leave", "arrive", "stop", "open", "close")])
            noun = self.pick(self.lex.things(frame.tags))
            if noun.kind != "count":
                raise _Retry
            wh = "whose" if verb.base in ("ring", "bark") else "which"
            subj = _Subj([noun.word], 3, False, "", False)
            noise = verb.base in ("ring", "bark")
            tense = self.wpick([("pres", 0 if noise else 3), ("prog", 2 if noise else 0),
                                ("past", 1 if verb.base != "bark" else 0)])
            aux, rest = self.verb_group(verb, subj, tense)
            comp = []
            if verb.base in ("leave", "arrive", "stop"):
                comp = [("from" if verb.base == "leave" else "at")] + self.place_np(self.pick(self.places(
                    ("station", "airport", "bus stop", "hospital", "museum", "market", "square", "university"))))
                if verb.base == "leave" and self.chance(0.4):
                    comp = self.pick((["first"], ["at"] + self.clock()[1:], ["next"]))
            elif verb.base in ("open", "close"):
                comp = self.pick((["first"], ["late"], ["early"], ["on", "sundays"], self.clock()))
                if tense == "past" and comp[0] == "on":
                    comp = ["early"]
            return [wh, noun.word] + ([aux] if aux else []) + rest + comp
        vehicle = self.pick(self.lex.things(("transit",)))
        go = self.lex.by_base["go"]
        if vehicle.word in ("plane", "taxi"):
            raise _Retry
        goal = self.pick(self.places(_STOPS + ("stadium", "beach", "city")))
        stop = self.pick(self.places(_STOPS))
        return ["which", vehicle.word] + self.pick(([go.s, "downtown"], [go.s, "to"] + self.place_np(goal),
                                                    self.need("stops", "at") + self.place_np(stop)))

    def wh_copular(self):
        x = self.r.random()
        for bound, build in ((0.12, self._copular_how_old), (0.22, self._copular_whose), (0.36, self._copular_where),
                             (0.46, self._copular_how_is), (0.56, self._copular_who), (0.66, self._copular_when),
                             (0.76, self._copular_why), (0.86, self._copular_what)):
            if x < bound:
                return build()
        return self._copular_how_far_colour_which()

    def _copular_how_old(self):
        """wh_copular: how old is your brother."""
        if self.chance(0.7):
            subj = self.subject("human")
            if subj.pron in ("indef", "i"):
                raise _Retry
        else:
            words = self.thing(("vehicle", "pet", "furniture"), det="def", adj=0, number="sg")[0]
            subj = _Subj(words, 3, False)
        be = self.be(subj)
        return ["how", "old", be] + subj.words

    def _copular_whose(self):
        """wh_copular: whose keys are these."""
        words, noun, plural = self.thing(("portable", "clothes", "vehicle", "pet"), det="none", adj=0.2)
        if noun.kind == "mass":
            raise _Retry
        demo = self.pick(("these", "those")) if plural else self.pick(("this", "that"))
        return ["whose"] + words + [("are" if plural else "is"), demo]

    def _copular_where(self):
        """wh_copular: where are my keys."""
        if self.chance(0.6):
            words, noun, plural = self.thing(("personal", "object", "clothes", "pet"), det="def", adj=0.15)
        else:
            place = self.pick(self.lex.group("building", "room"))
            words, plural = (["the"] + place.word.split()) if self.chance(0.7) else (
                ["the", "nearest"] + place.word.split()), False
        return self.wh_contract("where", [("are" if plural else "is")] + words)

    def _copular_how_is(self):
        """wh_copular: how is / how was."""
        if self.chance(0.5):
            subj = self.subject("human")
            if subj.pron in ("indef", "i") or len(subj.words) == 1 and subj.pron:
                subj = _Subj([self.pick(("your", "his", "her"))] + self.pick(self.lex.group("family")).word.split())
            words, plural = subj.words, subj.plural or subj.words[-1] == "parents"
            tense = "pres"
        else:
            noun = self.pick(self.lex.group("event", "dish", "room", "building", "home"))
            words, plural = (self.np(noun, self.pick(("the", "poss")), 0, number="sg") if noun.category == "noun"
                             else self.place_np(noun)), noun.kind == "plural"
            tense = "past" if noun.group == "event" else self.pick(("pres", "past"))
        be = ("are" if plural else "is") if tense == "pres" else ("were" if plural else "was")
        return self.wh_contract("how", [be] + words)

    def _copular_who(self):
        """wh_copular: who is that man."""
        if self.chance(0.3):
            if self.chance(0.3):
                return ["who", "is", "in", "the"] + self.pick(self.lex.group("room")).word.split()
            return ["who"] + self.need(*self.pick(("was at the door", "is at the door",
                                                   "was on the phone")).split())
        noun = self.pick(self.lex.group("people", "job", "family"))
        if noun.group == "family" or noun.kind == "plural":
            words = self.person_np(number="sg", groups=("family",))
        else:
            words = self.np(noun, self.pick(("demo", "the") if "nposs" in noun.tags else ("demo", "poss", "the")),
                            0.3, number="sg")
        if words[-1] in _PLURAL_PEOPLE:
            raise _Retry
        return self.wh_contract("who", [self.pick(("is", "is", "was"))] + words)

    def _copular_when(self):
        """wh_copular: when is the meeting."""
        noun = self.pick(self.lex.group("event"))
        words = self.np(noun, self.pick(("the", "poss", "the")), 0.15, number="sg")
        if self.chance(0.2):
            return self.wh_contract("when", ["is", "the", "next"]
                                    + self.pick(self.lex.things(("transit",))).word.split())
        return self.wh_contract("when", [self.pick(("is", "is", "was"))] + words)

    def _copular_why(self):
        """wh_copular: why is the door open."""
        subj, target = self.copular_subject()
        if subj.pron in ("indef", "i", "it", "they") and target != "person":
            raise _Retry
        if subj.pron in ("indef", "i"):
            raise _Retry
        pred = self.pred_adjective(target, states=True)
        if pred[0] in ("not", "probably", "already", "a", "quite", "too"):
            pred = pred[-1:]
        be = self.be(subj, self.pick(("pres", "pres", "past")))
        return ["why", be] + subj.words + pred

    def _copular_what(self):
        """wh_copular: what's the plan / what's wrong with the car / what's in the box."""
        y = self.r.random()
        if y < 0.3:
            thing = self.thing(("vehicle", "device", "personal"), det="def", adj=0, number="sg")[0]
            return self.wh_contract("what", ["is", "wrong", "with"] + thing)
        if y < 0.5:
            container = self.pick(self.lex.things(("container", "open")))
            return self.wh_contract("what", ["is", "in"] + self.np(container, "def", 0, number="sg"))
        if y < 0.7:
            noun = self.pick(self.lex.things(("explain", "recall")))
            words = self.np(noun, self.pick(("the", "poss")), 0, "sg")
            return self.wh_contract("what", [self.pick(("is", "was"))] + words)
        if y < 0.85:
            noun = self.pick(self.lex.things(("watch", "enjoy")))
            return ["what", "was"] + self.np(noun, "the", 0, "sg") + ["like"]
        liked = self.pick([n for n in self.lex.things(("watch", "dish", "drink", "song")) if n.kind != "bare"])
        return self.wh_contract("what", ["is", self.pick(("your", "his", "her", "their")), "favourite",
                                         liked.word])

    def _copular_how_far_colour_which(self):
        """wh_copular: how far / what colour / which ... is yours / how big."""
        y = self.r.random()
        if y < 0.3:
            place = self.pick(self.lex.group("building", "outdoor", "city"))
            if place.word in ("road", "street"):
                raise _Retry
            return ["how", "far", "is"] + (["it", "to"] if self.chance(0.3) else []) + self.place_np(place)
        if y < 0.5:
            words, _, plural = self.thing(("vehicle", "clothes", "personal"), det="def", adj=0, number="sg")
            return ["what", "colour", "are" if plural else "is"] + words
        if y < 0.75:
            words, noun, plural = self.thing(("personal", "clothes", "portable"), det="none", adj=0, number="sg")
            if noun.kind == "mass":
                raise _Retry
            owner = self.pick(("yours", "mine", "hers", "his", "ours", "theirs"))
            return ["which"] + words + [("are" if plural else "is"), owner]
        adjective = self.need(self.pick(("big", "tall", "expensive", "heavy", "deep", "far")))[0]
        target = {"big": ("home", "room"), "tall": ("tree",), "expensive": ("vehicle", "home", "building"),
                  "heavy": ("suitcase", "box"), "deep": ("lake", "river"), "far": ("building",)}[adjective]
        pool = [n for n in self.lex.nouns if n.group in target or n.word in target]
        noun = self.pick(pool)
        return ["how", adjective, "is"] + (self.place_np(noun) if noun.category == "place" else
                                           self.np(noun, "the", 0, "sg"))

    def wh_prep_first(self):
        x = self.r.random()
        if x < 0.25:
            verb, frame = self.pick(self.lex.frames["s"])
            if verb.base in ("bark", "ring", "stop"):
                raise _Retry
            subj = self.subject(frame.tags)
            tense = self.wpick([("pres", 4), ("past", 1), ("will", 2)])
            aux, rest = self.verb_group(verb, subj, tense, question=True)
            lead = self.pick((["at", "what", "time"], ["on", "which", "day"], ["at", "what", "time"]))
            return lead + [aux] + subj.words + rest
        if x < 0.45:
            verb, frame = self.pick([(v, f) for v, f in self.lex.frames["d"] if v.base in _TO_WHOM_VERBS])
            subj = self.subject("human")
            if subj.pron == "indef":
                raise _Retry
            tense = self.wpick([("past", 3), ("modal", 1), ("will", 1)])
            aux, rest = self.verb_group(verb, subj, tense, question=True, modal="should")
            thing = self.thing(tuple(t for t in frame.tags if t not in _SPECIAL_TAGS), det="def")[0]
            return ["to", "whom", aux] + subj.words + rest + thing
        if x < 0.6:
            subj = self.subject("human")
            if subj.pron == "indef":
                raise _Retry
            verb, frame = self.frame({"m": 3, "i": 1})
            if frame.kind == "i" and "W" not in frame.codes or (
                    (verb.base, frame.kind) in _NO_IMPERATIVE and verb.base != "move"):
                raise _Retry
            words, _ = self.question(verb, frame, self.pick(("past", "will", "past")), subj=subj)
            return ["with", "whom"] + words
        if x < 0.78:
            y = self.r.random()
            if y < 0.5:
                room = self.pick(self.places(("room", "classroom", "hotel", "museum", "theatre", "stadium", "church",
                                              "office", "library", "university", "cinema", "restaurant")))
                event = self.pick(self.lex.things(("timed",)))
                if room.word not in _EVENT_PLACES.get(event.word, ()) and not (room.word == "room" and event.word in (
                        "meeting", "class", "lesson", "exam", "test", "interview")):
                    raise _Retry
                return ["in", "which"] + room.word.split() + [self.pick(("is", "was"))] + self.np(event, "the", 0, "sg")
            verb = self.pick([v for v, f in self.lex.frames["i"] if v.base in ("live", "work", "study", "stay")])
            frame = [f for f in verb.frames if f.kind == "i"][0]
            words, _ = self.question(verb, frame, self.pick(("pres", "past", "past")), gap="place",
                                     subj=self.subject("human"))
            return ["in", "which", self.pick(("city", "country", "city"))] + words
        if x < 0.9:
            verb = self.pick([v for v in (self.lex.by_base.get(b) for b in ("wait", "stay", "work", "study", "live"))
                              if v is not None])
            frame = [f for f in verb.frames if f.kind == "i"][0]
            words, _ = self.question(verb, frame, self.pick(("will", "past", "modal")), gap="place", modal="should",
                                     subj=self.subject("human"))
            return ["for", "how", "long"] + words
        noun = self.pick(self.lex.things(("wrap", "write", "bake")))
        return ["for", "whom", self.pick(("is", "was"))] + self.np(noun, self.pick(("the", "demo")), 0, number="sg")

    def wh_vocative(self):
        body = self.wpick([(self.wh_what, 2), (self.wh_where, 2), (self.wh_when, 1), (self.wh_why, 1),
                           (self.wh_how, 1), (self.wh_what_time, 1), (self.wh_copular, 2), (self.wh_who, 1),
                           (self.wh_subject, 1)])()
        return self.vocative() + body

    # -- imperatives ------------------------------------------------------------------------------------

    _IMP_KINDS = {"o": 40, "d": 10, "p": 12, "q": 8, "r": 8, "l": 8, "i": 5, "m": 8}
    _YOU = _Subj(["you"], 2, False, "you")
    _WE = _Subj(["we"], 1, True, "we")

    def imp_vp(self, kinds=None, adjunct=0.45, allow_neg_only=False, subj=None, benefactive=True):
        kinds = kinds or self._IMP_KINDS
        kinds = {k: w for k, w in kinds.items() if self.lex.frames.get(k)}
        kind = self.wpick(list(kinds.items()))
        pairs = [(v, f) for v, f in self.lex.frames[kind] if "x" not in v.flags and (
            allow_neg_only or "n" not in v.flags) and (v.base, f.kind) not in _NO_IMPERATIVE]
        verb, frame = self.pick(pairs)
        comp, _ = self.complement(verb, frame, subj or self._YOU, imperative=True)
        words = [verb.base] + comp
        if benefactive and frame.kind == "o" and verb.base in _FOR_ME_VERBS and self.chance(0.2):
            words += ["for"] + self.pick((["me"], ["us"], ["me"], ["your"]
                                          + self.pick(self.lex.group("family")).word.split(),
                                         [self.pick(self.lex.names).word] if self.lex.names else ["me"]))
        if adjunct and self.chance(adjunct) and verb.base in _TIMED_VERBS and frame.kind != "l" and not any(
                w in words for w in ("now", "tonight", "tomorrow", "later")):
            if frame.kind in ("q", "i", "m"):
                words += self.pick((["now"], ["right", "now"], ["now"]))
            else:
                when = self.time("imp")
                if subj is self._WE and "you" in when:
                    raise _Retry
                words += when
        return words

    def i_transitive(self):
        return self.imp_vp({"o": 1})

    def i_ditransitive(self):
        return self.imp_vp({"d": 1})

    def i_put(self):
        return self.imp_vp({"l": 1}, adjunct=0.15)

    def i_phrasal(self):
        return self.imp_vp({"p": 3, "q": 2})

    def i_motion(self):
        x = self.r.random()
        if x < 0.2:
            go = self.pick(("come here", "wait here", "stay here", "come home", "go home", "go to bed", "go upstairs",
                            "come inside", "stay inside", "wait outside")).split()
            return go + self.wpick([([], 2), (self.time("future"), 1), (["now"], 1), (["right", "now"], 0.5)])
        if x < 0.4:
            return ["meet", "me"] + self.location(_VERB_PLACES["meet"][0], _VERB_PLACES["meet"][1]) + (
                self.clock() if self.chance(0.5) else [])
        return self.imp_vp({"m": 3, "i": 2, "r": 1})

    def i_please(self):
        body = self.wpick([(lambda: self.imp_vp(), 4), (lambda: self.imp_vp({"q": 1, "i": 1, "m": 1}), 1),
                           (self.i_be, 1)])()
        where = self.pick(("first", "first", "last", "last_comma"))
        if where == "first":
            return ["please"] + body
        if where == "last_comma":
            return body + [",", "please"]
        return body + ["please"]

    def i_negative(self):
        x = self.r.random()
        lead = self.wpick([(["don't"], 6), (["do", "not"], 1.5), (["never"], 1.5)])
        never = lead == ["never"]
        if x < 0.2:
            words = [a.word for a in self.lex.adjectives_for("person", "p") if a.word in _DONT_BE]
            words += list(_DONT_BE_CLOSED)
            adjective = self.pick(words)
            tail = self.pick(([], [], ["with", "me"] if adjective in ("angry", "rude", "mean") else [],
                              ["about", "it"] if adjective in ("worried", "nervous", "sad") else [],
                              ["of", "the", "dog"] if adjective in ("afraid", "scared") else []))
            return lead + ["be"] + ([self.pick(("so", "too"))] if self.chance(0.3)
                                    and adjective != "late" else []) + [adjective] + tail
        if x < 0.28:
            return lead + ["be", "late"] + self.pick(([], ["again"], self.time("future"), ["for", "school"],
                                                       ["for", "work"]))
        if x < 0.4 and lead == ["don't"]:
            verb = self.pick([v for v, f in self.lex.frames["t"] if v.base in ("forget", "promise")] or [None])
            if verb is None or verb.base != "forget":
                raise _Retry
            body = self.imp_vp(adjunct=0.2, benefactive=False)
            if body[-1] == "now" or body[0] in ("hold", "worry"):
                raise _Retry
            return ["don't", "forget", "to"] + body
        body = self.imp_vp(allow_neg_only=True, adjunct=0 if never else 0.25, benefactive=False)
        if body[0] in _NO_NEG_IMPERATIVE or (lead == ["never"] and body[0] not in _NEVER_VERBS) or set(body) & {
                "quietly", "slowly", "carefully", "patiently"}:
            raise _Retry
        return lead + body

    def i_lets(self):
        x = self.r.random()
        if x < 0.1:
            body = self.imp_vp(adjunct=0.2, subj=self._WE, benefactive=False)
            if body[0] in _NO_NEG_IMPERATIVE:
                raise _Retry
            return ["let's", "not"] + body
        if x < 0.2:
            return ["let's", "go", self.pick(("shopping", "fishing", "camping", "hiking", "skiing"))] + (
                self.time("future") if self.chance(0.5) else [])
        if x < 0.3:
            treat = self.np(self.pick(self.lex.things(("brew", "order"))), "indef", 0.2, "sg")
            return ["let's", "have"] + self.pick(([self.pick(("breakfast", "lunch", "dinner"))], treat)) + (
                self.location(("restaurant", "cafe", "kitchen", "garden", "hotel", "beach",
                               "park")) if self.chance(0.4) else [])
        body = self.imp_vp({"o": 40, "p": 12, "q": 6, "r": 8, "l": 6, "i": 5, "m": 10}, adjunct=0.35, subj=self._WE)
        if body[0] in ("come", "hurry", "calm", "slow", "stand", "lie"):
            raise _Retry
        return ["let's"] + body

    def i_be(self):
        x = self.r.random()
        if x < 0.6:
            adjective = self.pick(self.lex.adjectives_for("behave", "p") + tuple(
                a for a in self.lex.adjectives_for("person", "p") if a.word in ("kind", "nice", "polite", "patient")))
            word = adjective.word
            tail = self.wpick([([], 3),
                               (["with"] + self.thing(("fragile",), det="def", adj=0, imperative=True)[0],
                                1 if word in ("careful", "gentle") else 0),
                               (["to"] + self.person(("you",), imperative=True),
                                1 if word in ("nice", "kind", "polite", "gentle") else 0),
                               (["with"] + self.person(("you",), imperative=True),
                                1 if word in ("patient", "honest", "gentle") else 0),
                               (["for", "a", "minute"], 1 if word in ("quiet", "patient", "calm") else 0),
                               (self.pick((["now"], ["tonight"])), 1)])
            degree = ["very"] if self.chance(0.15) and adjective.gradable else []
            return ["be"] + degree + [adjective.word] + tail
        if x < 0.8:
            place = self.pick((["ready"], ["home"], ["back"], ["here"], ["there"], ["on", "time"]))
            if place == ["on", "time"]:
                return ["be", "on", "time"] + self.pick(([], ["tomorrow"], ["for", "once"], ["tonight"]))
            when = self.pick((["tonight"], ["tomorrow"], ["soon"], ["before", "dinner"], self.clock(),
                              ["on", self.pick(_DAYS)]))
            return ["be"] + place + self.wpick(
                [(["by"] + self.clock()[1:], 2), (when, 2),
                 (["in", self.pick(("five", "ten", "twenty")), "minutes"], 1)])
        family = ["your"] + self.pick(self.lex.group("family")).word.split()
        return ["be", "good"] + self.pick(([], ["for"] + self.pick((family, [self.pick(("mum", "dad"))])),
                                           ["tonight"], ["at", "school"]))

    def i_adverb_first(self):
        adverb = self.wpick([("always", 3), ("just", 4), ("quickly", 2), ("first", 1), ("now", 1.5),
                             ("carefully", 1), ("quietly", 1), ("gently", 0.5), ("slowly", 0.5)])
        kinds = {"always": {"o": 1}, "quickly": {"o": 2, "q": 2, "m": 1, "p": 2, "l": 1},
                 "carefully": {"o": 2, "l": 2, "p": 1}, "gently": {"o": 1, "l": 1}, "slowly": {"o": 1, "q": 1, "m": 1},
                 "quietly": {"q": 1, "m": 1, "o": 1, "p": 1}}.get(adverb)
        body = self.imp_vp(kinds, adjunct=0.2 if adverb in ("just", "first", "now") else 0)
        verb = self.lex.by_base.get(body[0])
        if adverb in ("carefully", "gently", "slowly") and body[0] not in _GENTLE_VERBS:
            raise _Retry
        if adverb == "quietly" and body[0] not in _QUIET_VERBS or adverb == "quickly" and body[0] not in _QUICK_VERBS:
            raise _Retry
        routine = _HABIT_VERBS | {"lock", "close", "check", "wash", "switch", "turn", "keep", "carry"}
        if adverb == "always" and (verb is None or verb.base not in routine):
            raise _Retry
        if verb is not None and verb.base in ("enjoy", "celebrate", "love", "prefer"):
            raise _Retry
        return [adverb] + body

    def i_compound(self):
        x = self.r.random()
        if x < 0.3:
            first = self.pick((["come", "in"], ["sit", "down"], ["go", "upstairs"], ["take", "a", "seat"],
                               ["hurry", "up"], ["come", "here"], ["stand", "up"], ["go", "home"], ["wake", "up"],
                               ["come", "back"], ["go", "inside"]))
            return first + ["and"] + self.imp_vp({"o": 4, "d": 1, "p": 2, "l": 1}, adjunct=0.1)
        if x < 0.5:
            body = self.imp_vp({"o": 3, "d": 1, "p": 1}, adjunct=0, benefactive=False)
            if body[0] not in _TIMED_VERBS or body[0] == "finish":
                raise _Retry
            return body + self.pick(_WHEN_YOU).split()
        first = self.imp_vp({"o": 3, "q": 2, "p": 1}, adjunct=0, benefactive=False)
        if first[-1] == "away" or first[0] == "hold":
            raise _Retry
        second = self.imp_vp({"o": 3, "d": 1, "p": 1}, adjunct=0.1, benefactive=False)
        if len(first) + len(second) > 10:
            raise _Retry
        if first[0] == second[0] or first[0] not in _CHORE_VERBS or second[0] not in _CHORE_VERBS:
            raise _Retry
        return first + self.pick((["and"], ["and"], ["and", "then"])) + second

    def i_vocative(self):
        body = self.wpick([(self.imp_vp, 4), (self.i_negative, 1), (self.i_please, 1), (self.i_be, 1),
                           (self.i_lets, 0.5)])()
        return self.vocative() + body

    def i_remember(self):
        lead = self.wpick([(["remember", "to"], 3), (["try", "to"], 2), (["try", "not", "to"], 1),
                           (["make", "sure", "you"], 2), (["don't", "forget", "to"], 2),
                           (["please", "remember", "to"], 1)])
        if lead[0] == "remember" and "remember" not in self.lex.by_base:
            lead = ["make", "sure", "you"]
        if "forget" in lead and "forget" not in self.lex.by_base:
            lead = ["try", "to"]
        body = self.imp_vp({"o": 5, "d": 1, "p": 2, "l": 1, "m": 1}, adjunct=0.3, benefactive=False)
        if body[-1] == "now" or body[0] == "hold" and body[1] == "on" or body[0] in lead:
            raise _Retry
        return lead + body

    def i_formula(self):
        x = self.r.random()
        if x < 0.45:
            adjective = self.pick(tuple(a for a in self.lex.adjectives_for("event", "a") if a.word in (
                "nice", "lovely", "great")) or (None,))
            word = adjective.word if adjective else self.pick(("good", "nice"))
            if self.chance(0.4):
                word = self.pick(("good", "nice"))
            trips = tuple(n.word for n in self.lex.things(("enjoy", "book"))
                          if n.word in ("trip", "holiday", "party", "flight"))
            noun = self.pick(("day", "weekend", "evening", "time") + trips)
            return ["have", _article(word), word, noun] + self.pick(([], [], ["tomorrow"] if noun == "trip" else []))
        if x < 0.75:
            if self.chance(0.2):
                return ["enjoy", "your", "meal"]
            noun = self.pick(self.lex.things(("enjoy",)))
            return ["enjoy"] + self.np(noun, self.pick(("the", "poss")), 0, number="sg", imperative=True) + (self.pick(
                ([], [], ["tonight"], ["tomorrow"])) if "timed" in noun.tags else [])
        return self.pick((["take", "a", "seat"], ["take", "your", "time"], ["get", "some", "rest"],
                          ["make", "yourself", "at", "home"], ["take", "care", "of", "yourself"],
                          ["have", "fun", "tonight"], ["sleep", "well"], ["drive", "safely"],
                          ["help", "yourself", "to", "some", self.pick(("cake", "coffee", "tea", "bread"))]))


CONSTRUCTIONS = {
    "declarative": ("present_simple", "present_progressive", "past", "future", "present_perfect", "modal",
                    "copular_adjective", "copular_noun", "weather", "existential", "fronted", "infinitive",
                    "reported", "vocative", "compound"),
    "wh": ("what", "who", "which", "where", "when", "why", "how", "what_time", "how_many", "subject",
           "copular", "prep_first", "vocative"),
    "imperative": ("transitive", "ditransitive", "put", "phrasal", "motion", "please", "negative", "lets", "be",
                   "adverb_first", "compound", "remember", "formula", "vocative"),
}
"""The constructions of each form, drawn uniformly (those in `_HALF_WEIGHT` at half weight)."""

_HALF_WEIGHT = {("declarative", "vocative"), ("declarative", "compound"), ("wh", "vocative"),
                ("wh", "prep_first"), ("imperative", "vocative"), ("imperative", "formula")}
_PREFIX = {"declarative": "d_", "wh": "wh_", "imperative": "i_"}


def _method(form, construction):
    return _PREFIX[form] + construction


def _weights(form):
    return [(c, 0.5 if (form, c) in _HALF_WEIGHT else 1.0) for c in CONSTRUCTIONS[form]]


# ---------------------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------------------


def _join(words):
    text = " ".join(w for w in words if w)
    return text.replace(" ,", ",")


def check_script(text):
    """Problems of one script text (empty list = valid): characters, case, spacing, length.

    Args:
        text: str. A script (no final punctuation).

    Returns:
        list of str, the problems found.
    """
    problems = []
    bad = sorted(set(text) - ALPHABET)
    if bad:
        problems.append(f"characters outside [a-z ',]: {''.join(bad)!r}")
    if text != text.strip() or "  " in text:
        problems.append("leading, trailing or double spaces")
    if ",," in text or text.startswith(",") or text.endswith(",") or " ," in text:
        problems.append("misplaced comma")
    count = len(text.split())
    if not MIN_WORDS <= count <= MAX_WORDS:
        problems.append(f"{count} words (expected {MIN_WORDS}-{MAX_WORDS})")
    if len(text) > MAX_CHARS:
        problems.append(f"{len(text)} characters (expected at most {MAX_CHARS})")
    return problems


def _build(form, construction, rng, words):
    grammar = _Grammar(rng, words)
    out = getattr(grammar, _method(form, construction))()
    text = _join(out)
    if check_script(text) or text.split().count("please") > 1:
        raise _Retry
    # Every word must be a form of this lexicon or a closed-class word: a content word a construction writes
    # literally ("meet me", "at the door") is thus never one held out of this lexicon.
    if not words.words.issuperset(w for w in _tokens(text) if w not in CLOSED_WORDS):
        raise _Retry
    return text


def generate(form, rng, words=None, construction=None):
    """One sentence of `form`, drawn from the lexicon subset `words`.

    Args:
        form: str. One of `FORMS`.
        rng: random.Random. The random source (the only one used).
        words: `Lexicon` or None. The lexicon to draw from; None = the whole `LEXICON`.
        construction: str or None. One of `CONSTRUCTIONS[form]`; None draws one (weighted, see `CONSTRUCTIONS`).

    Returns:
        str: a lower-case script of 3-14 words without final punctuation.

    Raises:
        ValueError: for an unknown form or construction.
        RuntimeError: when no sentence could be built in 200 draws (a lexicon far too small).
    """
    if form not in FORMS:
        raise ValueError(f"Unknown form {form!r}. Expected one of: {', '.join(FORMS)}.")
    if construction is not None and construction not in CONSTRUCTIONS[form]:
        raise ValueError(f"Unknown {form} construction {construction!r}. Expected one of: "
                         f"{', '.join(CONSTRUCTIONS[form])}.")
    words = LEXICON if words is None else words
    weights = _weights(form)
    for _ in range(200):
        chosen = construction or _Grammar(rng, words).wpick(weights)
        try:
            return _build(form, chosen, rng, words)
        except _Retry:
            continue
    raise RuntimeError(f"Could not build a {form} sentence from this lexicon in 200 draws.")


# ---------------------------------------------------------------------------------------------------------
# Script sets
# ---------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ScriptSets:
    """Generated scripts of the three splits.

    Attributes:
        train: list of `(text, form)`, `train_per_form` per form, form by form.
        val: list of `(text, form)`, drawn like `train` (same lexicon), disjoint from it.
        test: list of `(text, form)`, each with at least one held-out word.
        heldout_words: frozenset of str. Words (every inflected form) that appear only in test scripts.
        seed: int. The seed they were drawn with.
    """

    train: list
    val: list
    test: list
    heldout_words: frozenset
    seed: int


_TARGET_LENGTHS = tuple(zip(range(MIN_WORDS, MAX_WORDS + 1), (3, 6, 9, 11, 12, 12, 11, 9, 7, 5, 3, 2)))
"""Weights of the target length (words) each script is drawn towards: most 5-10, some 3-4 and 11-14."""
_CANDIDATES = 8


_POOL = 3
"""Each split draws `_POOL` times the scripts it needs per form, then keeps a subset with the same length
histogram in every form (`_common_lengths`)."""


def _common_lengths(pools, count):
    """Scripts to keep per length (words), the same for every form: `count` in all, shaped like
    `_TARGET_LENGTHS` as far as every form's pool allows, so that a script's length says nothing of its form."""
    if count == 0:
        return {}
    available = {n: min(sum(len(t.split()) == n for t, _ in pool) for pool in pools.values())
                 for n, _ in _TARGET_LENGTHS}
    if sum(available.values()) <= count:  # tiny sets: all that all forms share (`_pick_lengths` tops up)
        return available
    weights = dict(_TARGET_LENGTHS)
    total = sum(weights.values())
    shares = {n: count * w / total for n, w in weights.items()}
    target = {n: int(shares[n]) for n in weights}
    for n in sorted(weights, key=lambda n: shares[n] - target[n], reverse=True)[: count - sum(target.values())]:
        target[n] += 1  # largest remainders
    target = {n: min(target[n], available[n]) for n in target}
    while sum(target.values()) < count:  # give what the pools lack to the lengths they have, by weight
        excess = count - sum(target.values())
        room = [n for n in target if available[n] > target[n]]
        room_weight = sum(weights[n] for n in room)
        for n in sorted(room, key=lambda n: -weights[n]):
            give = min(available[n] - target[n], excess, max(1, round(excess * weights[n] / room_weight)))
            target[n] += give
            excess -= give
            if not excess:
                break
    return target


def _pick_lengths(pool, lengths, count, rng):
    """A seeded subset of `pool` (`(text, form)` rows), in pool order: `lengths[n]` scripts of n words, topped
    up to `count` with the first others of the pool when the common histogram holds fewer (tiny sets)."""
    by_length = {}
    for index, (text, _) in enumerate(pool):
        by_length.setdefault(len(text.split()), []).append(index)
    keep = set()
    for n, k in lengths.items():
        keep.update(rng.sample(by_length.get(n, []), k))
    keep.update([i for i in range(len(pool)) if i not in keep][: count - len(keep)])
    return [pool[i] for i in sorted(keep)]


def _draw(form, count, rng, lex, seen, heldout=None, split=""):
    """`count` new scripts of `form`: construction first, then up to `_CANDIDATES` fillings of it, keeping the
    first within a word of a drawn target length (else the closest), so lengths spread without changing the
    balance of constructions."""
    out, weights = [], _weights(form)
    grammar = _Grammar(rng, lex)
    budget = 400 * count + 1000
    while len(out) < count:
        construction = grammar.wpick(weights)
        target = grammar.wpick(_TARGET_LENGTHS)
        best, found = None, 0
        for _ in range(60):
            budget -= 1
            if budget < 0:
                raise RuntimeError(f"Could only generate {len(out)} distinct {form} scripts for {split!r} "
                                   f"(asked for {count}); ask for fewer.")
            try:
                text = _build(form, construction, rng, lex)
            except _Retry:
                continue
            if text in seen or (heldout is not None and not heldout.intersection(_tokens(text))):
                continue
            distance = abs(len(text.split()) - target)
            if best is None or distance < best[0]:
                best = (distance, text)
            found += 1
            if distance <= 1 or found >= _CANDIDATES:
                break
        if best is not None:
            seen[best[1]] = form
            out.append((best[1], form))
    return out


def generate_scripts(seed=0, train_per_form=800, val_per_form=80, test_per_form=100, heldout_fraction=0.2):
    """Draws the train, val and test scripts (see the module docstring for the guarantees).

    Args:
        seed: int. Everything is deterministic from it (same seed -> identical lists, in any process).
        train_per_form: int. Training scripts per form.
        val_per_form: int. Validation scripts per form (training lexicon, disjoint texts).
        test_per_form: int. Test scripts per form, each with at least one held-out word.
        heldout_fraction: float in [0, 1). Share of the content words held out for test (0: no held-out
            words; test scripts are then only new texts).

    Returns:
        `ScriptSets`.

    Raises:
        ValueError: for a negative count or a fraction outside [0, 1).
    """
    for name, value in (("train_per_form", train_per_form), ("val_per_form", val_per_form),
                        ("test_per_form", test_per_form)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"Expected {name} to be a non-negative integer. Received: {name}={value!r}")
    train_lex, _, heldout = heldout_lexicon(seed, heldout_fraction)
    seen = {}
    splits = {}
    for split, count in (("train", train_per_form), ("val", val_per_form), ("test", test_per_form)):
        pools, drawn = {}, dict(seen)
        for form in FORMS:
            rng = random.Random(f"coaudiotext-generator-{seed}-{split}-{form}")
            if split == "test" and heldout:
                pools[form] = _draw(form, _POOL * count, rng, LEXICON, drawn, heldout, split)
            else:
                pools[form] = _draw(form, _POOL * count, rng, train_lex, drawn, None, split)
        lengths = _common_lengths(pools, count)
        rows = []
        for form in FORMS:
            rng = random.Random(f"coaudiotext-generator-{seed}-{split}-{form}-pick")
            rows += _pick_lengths(pools[form], lengths, count, rng)
        seen.update(rows)
        splits[split] = rows
    return ScriptSets(splits["train"], splits["val"], splits["test"], heldout, seed)


def to_rows(scripts):
    """Script rows: every `(text, form)` once with each label of its form, in order.

    Args:
        scripts: iterable of `(text, form)`.

    Returns:
        list of `(text, label)`.
    """
    return [(text, label) for text, form in scripts for label in FORM_LABELS[form]]


# ---------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------


def _stats(sets, out):
    def write(line=""):
        print(line, file=out)

    write(f"seed {sets.seed}; held-out words: {len(sets.heldout_words)}")
    for split in ("train", "val", "test"):
        rows = getattr(sets, split)
        counts = collections.Counter(form for _, form in rows)
        write(f"{split}: {len(rows)} scripts ({', '.join(f'{f} {counts[f]}' for f in FORMS)})")
    lengths = collections.Counter(len(t.split()) for split in ("train", "val", "test")
                                  for t, _ in getattr(sets, split))
    total = sum(lengths.values()) or 1
    write("length histogram (words: scripts):")
    for n in range(MIN_WORDS, MAX_WORDS + 1):
        write(f"  {n:2d} {lengths[n]:6d} {'#' * round(60 * lengths[n] / total)}")
    rng = random.Random(f"coaudiotext-generator-{sets.seed}-stats")
    for form in FORMS:
        texts = [t for t, f in sets.train if f == form]
        write(f"{form} examples:")
        for text in rng.sample(texts, min(5, len(texts))):
            write(f"  {text}")
        tests = [t for t, f in sets.test if f == form]
        for text in rng.sample(tests, min(2, len(tests))):
            write(f"  {text}   (test)")


def main(argv=None):
    """Command line: writes a script TSV (`text<TAB>label`, both labels of each script) or statistics.

    Args:
        argv: list of str or None. Arguments (None = `sys.argv[1:]`); see `--help`.

    Returns:
        int: 0 on success (argparse exits with 2 on bad arguments).
    """
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.data.generator",
        description="Generate demo-corpus scripts: everyday English declarative, wh- and imperative sentences,\n"
                    "written as a script TSV (header 'text<TAB>label', then one row per script and label of\n"
                    "its form: declarative s/yn, wh wh/yn, imperative c/r). Deterministic from --seed;\n"
                    "train/val scripts never use the held-out words, every test script uses at least one.",
        epilog="examples:\n"
               "  python -m coaudiotext.data.generator --split test --out test.tsv\n"
               "  python -m coaudiotext.data.generator --split train --per-form 50 --seed 3\n"
               "  python -m coaudiotext.data.generator --stats",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    parser.add_argument("--split", choices=("train", "val", "test", "all"), default="all",
                        help="which scripts to write (default all, in train, val, test order)")
    parser.add_argument("--out", default=None, metavar="FILE.tsv", help="output TSV file (default: standard output)")
    parser.add_argument("--per-form", type=int, default=None, metavar="N",
                        help="scripts per form of the chosen split (all: of every split); defaults 800/80/100")
    parser.add_argument("--stats", action="store_true",
                        help="print counts, the length histogram, the held-out word count and examples instead")
    args = parser.parse_args(argv)
    counts = {"train_per_form": 800, "val_per_form": 80, "test_per_form": 100}
    if args.per_form is not None:
        if args.per_form < 0:
            parser.error("--per-form must be non-negative")
        for split in ("train", "val", "test"):
            if args.split in (split, "all"):
                counts[f"{split}_per_form"] = args.per_form
    sets = generate_scripts(seed=args.seed, **counts)
    if args.stats:
        _stats(sets, sys.stdout)
        return 0
    scripts = [s for split in ("train", "val", "test") if args.split in (split, "all") for s in getattr(sets, split)]
    lines = ["text\tlabel"] + [f"{text}\t{label}" for text, label in to_rows(scripts)]
    content = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
        print(f"Wrote {len(lines) - 1} rows ({len(scripts)} scripts) to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(content)
    return 0


if __name__ == "__main__":
    sys.exit(main())

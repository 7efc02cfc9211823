"""Builds the sample agent log `agents_sample.jsonl` and its answer key `agents_sample_planted.jsonl`.

Nine agents (staff, volunteers, an outsourced partner), each with their own greeting and sign-off, answer
realistic messages on 24 topics with hand-written paraphrases of the approved answers; 24 hand-written replies
carry planted inconsistencies (wrong facts, missing sources, a different stance, an outdated policy).
Deterministic: `python eval/data/make_agents_sample.py` rewrites the same files.
"""
import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
rng = random.Random(2026)
AGENTS = {  # name: (greeting with name, greeting without, sign-off nl, sign-off en, copies closely?)
 "Sanne":  ("Hoi {n}!", "Hoi!", "Groet, Sanne", "Best, Sanne"),
 "Mehmet": ("Beste {n},", "Hallo,", "Met vriendelijke groet, Mehmet", "Kind regards, Mehmet"),
 "Joris":  ("Hey {n},", "Hey,", "^JV", "^JV"),
 "Ineke":  ("Lieve {n},", "Hallo daar,", "Hartelijke groet, Ineke (vrijwilliger)", "Warm regards, Ineke"),
 "Pieter": ("Hallo {n},", "Hallo,", "Pieter", "Pieter"),
 "Fatima": ("Hoi {n} 😊", "Hoi 😊", "Liefs, Fatima", "Take care, Fatima"),
 "Kevin":  ("Hi {n},", "Hi,", "Gr. Kevin", "Cheers, Kevin"),
 "Lisa":   ("Dag {n},", "Dag,", "Vriendelijke groet, Lisa – webcare", "Regards, Lisa – webcare"),
 "Tom":    ("Hoi {n},", "Hoi,", "^TB", "^TB"),
}
NAMES = ["Ria", "Mark", "Yvonne", "Sem", "Naima", "Kees", "Anouk", "Priya", "Bram", "Els", "Joyce", "Dennis", None, None]
CH = ["facebook", "instagram", "x", "whatsapp", "facebook", "email"]

T: dict[str, tuple] = {}
def topic(tid, lang, messages, bodies):
    T[tid] = (lang, messages, bodies)

topic("suiker-voedt-kanker", "nl", [
 "klopt het dat suiker kanker voedt? mn schoonmoeder eet geen fruit meer",
 "Ik heb borstkanker en durf geen suiker meer te eten, groeit het anders sneller?",
 "suiker = voer voor tumoren toch?? 🍭",
 "Moet ik suikervrij gaan eten nu mijn man darmkanker heeft",
 "iemand op insta zegt dat je kanker uithongert zonder suiker",
 "is fruit slecht als je kanker hebt vanwege de suiker",
 "mijn tante zweert bij een suikervrij dieet tegen haar tumor",
 "waarom zeggen artsen niet dat je moet stoppen met suiker bij kanker?",
 "klopt het dat kankercellen van suiker leven?"],
 ["Alle cellen in je lichaam gebruiken suiker als brandstof, dus ook kankercellen. Maar als je minder suiker eet, maakt je lichaam zelf glucose aan, dus een tumor uithongeren lukt zo niet. Wel kan veel suiker bijdragen aan overgewicht, en dat verhoogt het risico op kanker. Overleg grote aanpassingen in je eten met je arts of diëtist. Meer info: https://www.kanker.nl/",
  "Dat is een hardnekkig idee, maar suiker laten staan hongert een tumor niet uit: je lichaam maakt glucose ook uit andere voeding en alle cellen gebruiken het. Overgewicht verhoogt wel het risico op kanker. Twijfel je over je voeding, vraag dan je arts of een diëtist. https://www.voedingscentrum.nl/",
  "Alle cellen gebruiken suiker, ook de gezonde. Door geen suiker te eten hongert een tumor niet uit. Wel verhoogt overgewicht het risico op kanker. https://www.cancerresearchuk.org/about-cancer"])
topic("zuiveringszout-geneest-kanker", "nl", [
 "mn tante wil baking soda gaan drinken tegen haar kanker help",
 "Geneest zuiveringszout kanker? Zag een filmpje",
 "kanker is een schimmel en die spoel je weg met natriumbicarbonaat, echt waar",
 "is baksoda een goed alternatief voor chemo?",
 "zuiveringszout in de tumor laten spuiten, iemand ervaring?",
 "mijn buurman zegt dat zuiveringszout zijn prostaatkanker heeft genezen",
 "werkt baking soda tegen kanker of is dat fake",
 "waarom vertellen artsen niks over zuiveringszout als medicijn"],
 ["Zuiveringszout (baking soda) geneest geen kanker. Kanker is geen schimmel, en er is geen betrouwbaar onderzoek dat laat zien dat natriumbicarbonaat tumoren laat verdwijnen. Veel ervan slikken of laten inspuiten kan zelfs gevaarlijk zijn. Bespreek behandelingen altijd met je arts. https://www.kwf.nl/standpunten/standpunt-alternatieve-behandelwijzen",
  "Nee, baking soda geneest geen kanker, en het kan je bloed flink ontregelen als je er veel van neemt. Kanker is ook geen schimmel. Twijfel je over een behandeling, bespreek het met je huisarts of behandelend arts. https://www.kanker.nl/",
  "Nee, zuiveringszout geneest geen kanker, en het kan zelfs schadelijk zijn. Bespreek behandelingen altijd met je arts. https://www.cancer.gov/about-cancer/treatment/cam"])
topic("5g-kanker", "nl", [
 "krijg je kanker van 5G??", "Er komt een 5G-mast bij de school, moet ik me zorgen maken?",
 "5G straling is kankerverwekkend las ik", "mijn buren zeggen dat ze hoofdpijn en erger krijgen van de nieuwe mast",
 "is 5G gevaarlijker dan 4G qua kanker", "waarom wordt 5G uitgerold als het kanker geeft",
 "kan de straling van zendmasten tumoren veroorzaken", "5g = kanker, wakker worden mensen"],
 ["Nee, 5G veroorzaakt geen kanker. Het werkt met radiogolven, net als 4G, radio en wifi, en die straling is te zwak om je DNA te beschadigen. De Gezondheidsraad vond geen bewijs dat het schadelijk is; het onderzoek loopt wel door. https://www.gezondheidsraad.nl/",
  "Begrijpelijke zorg, maar 5G geeft geen kanker. Het gebruikt dezelfde soort radiogolven als 4G en wifi, en in Nederland gelden strenge grenzen voor blootstelling. https://www.rivm.nl/",
  "Nee, 5G veroorzaakt geen kanker. Het werkt met dezelfde soort radiogolven als 4G en wifi, en er gelden strenge grenzen voor blootstelling. https://www.iarc.who.int/"])
topic("cannabisolie-geneest-kanker", "nl", [
 "geneest cannabisolie kanker?", "Mijn zus wil stoppen met chemo en wietolie nemen, wat vinden jullie",
 "CBD olie tegen tumoren werkt toch?", "Rick Simpson olie, iemand ervaring tegen kanker",
 "is THC olie een medicijn tegen kanker", "waar kan ik betrouwbare cannabisolie kopen voor mijn vader met kanker",
 "helpt wietolie tegen kanker of alleen tegen misselijkheid", "cannabis geneest kanker, waarom is dat nog niet legaal"],
 ["Er is geen bewijs dat cannabisolie, met CBD of THC, kanker geneest bij mensen. Er is wel onderzoek in het lab en bij dieren, maar dat zegt nog niet wat het bij patiënten doet. Medicinale cannabis kan wel helpen bij klachten zoals misselijkheid of pijn, op recept. Bespreek het altijd met je arts. https://www.cancer.gov/about-cancer/treatment/cam",
  "Cannabisolie geneest geen kanker, daar is geen bewijs voor. Medicinale cannabis kan wel helpen bij misselijkheid, pijn of weinig eetlust, en je arts kan het voorschrijven. Let op: online gekochte oliën kunnen wisselwerking hebben met medicijnen. https://www.trimbos.nl/",
  "Er is geen bewijs dat cannabisolie kanker geneest. Medicinale cannabis kan wel helpen bij klachten zoals misselijkheid. Overleg met je arts. https://www.cancerresearchuk.org/about-cancer"])
topic("deodorant-borstkanker", "nl", [
 "krijg je borstkanker van deo?", "Aluminium in anti-transpirant, is dat gevaarlijk?",
 "ik gebruik al jaren deodorant en nu heb ik een knobbeltje, kan dat door de deo komen",
 "parabenen in deo geven kanker toch", "moet ik aluminiumvrije deo kopen tegen borstkanker",
 "is deodorant veilig voor je borsten", "mijn dochter van 13 wil deo, is dat slim ivm borstkanker",
 "geeft spray deo kanker"],
 ["Er is geen betrouwbaar bewijs dat deodorant of anti-transpirant borstkanker veroorzaakt, ook niet door aluminium of parabenen. Je kunt gewoon de deo gebruiken die je fijn vindt. Merk je iets aan je borst, ga dan naar je huisarts. https://www.cancerresearchuk.org/about-cancer",
  "Nee, van deodorant krijg je geen borstkanker; daar is geen bewijs voor. Bekende risicofactoren zijn onder meer leeftijd, erfelijke aanleg, alcohol en overgewicht. Voel je een knobbeltje of verandering? Laat het nakijken door je huisarts. https://www.cancer.gov/about-cancer/causes-prevention/risk",
  "Nee, er is geen bewijs dat deodorant of anti-transpirant borstkanker veroorzaakt. Merk je iets aan je borst, ga dan naar je huisarts. https://www.rivm.nl/bevolkingsonderzoek-borstkanker"])
topic("hpv-vaccin-onvruchtbaar", "nl", [
 "word je onvruchtbaar van de HPV-prik?", "Mijn dochter krijgt de HPV-vaccinatie maar ik ben bang dat ze later geen kinderen krijgt",
 "hpv vaccin is gevaarlijk las ik op telegram", "kan mijn zoon de hpv prik veilig halen",
 "is het baarmoederhalskankervaccin goed onderzocht", "ik hoor verhalen over vroege overgang door de hpv prik",
 "waarom moeten kinderen van 10 al die hpv prik", "hpv prik = onvruchtbaar?"],
 ["Het HPV-vaccin maakt niet onvruchtbaar, niet bij meisjes en niet bij jongens. Het vaccin wordt al jaren wereldwijd gebruikt en de veiligheid wordt steeds gevolgd; er is geen verband met onvruchtbaarheid gevonden. Een pijnlijke arm of hoofdpijn kan wel even. https://www.rijksvaccinatieprogramma.nl/",
  "Heel begrijpelijk dat je dit zeker wilt weten. Nee, de HPV-prik maakt niet onvruchtbaar. Hij beschermt tegen HPV-infecties die baarmoederhalskanker en andere soorten kanker kunnen veroorzaken. Bijwerkingen worden gevolgd door Lareb: https://www.lareb.nl/",
  "Nee, het HPV-vaccin maakt niet onvruchtbaar. Het is goed onderzocht en beschermt tegen HPV, dat verschillende soorten kanker kan veroorzaken. https://www.rivm.nl/vaccinaties"])
topic("kanker-besmettelijk", "nl", [
 "is kanker besmettelijk?", "Mag ik mijn opa met longkanker nog knuffelen?",
 "kun je kanker krijgen van iemand anders", "mijn collega heeft kanker, moet ik afstand houden",
 "kan kanker overgaan via zoenen", "ik zorg voor mijn moeder met kanker, loop ik risico",
 "mijn kinderen willen niet meer bij oma op bezoek omdat ze denken dat kanker besmettelijk is",
 "kan je kanker oplopen van een glas drinken van iemand"],
 ["Nee, kanker is niet besmettelijk: je kunt het niet oplopen door iemand aan te raken, te knuffelen of voor iemand te zorgen. Sommige infecties, zoals HPV of hepatitis, kunnen wel de kans op bepaalde kankers vergroten, maar de kanker zelf is niet overdraagbaar. https://www.kanker.nl/",
  "Goed dat je het vraagt: kanker is niet besmettelijk. Knuffel en verzorg gerust, dat doet de ander juist goed. https://www.who.int/news-room/fact-sheets/detail/cancer",
  "Nee, kanker is niet besmettelijk. Je kunt iemand met kanker gewoon knuffelen en verzorgen. Wel kunnen sommige virussen het risico vergroten. https://www.cancer.gov/about-cancer/causes-prevention/risk"])
topic("vaccins-autisme", "nl", [
 "veroorzaken vaccins autisme?", "Mijn zoontje werd na de BMR-prik heel anders, kan dat autisme zijn door de prik",
 "ik twijfel over inenten ivm autisme", "waarom ontkennen jullie dat vaccins autisme geven",
 "is er een verband tussen de mazelenprik en autisme", "vaccins zitten vol gif en geven autisme",
 "mijn schoonzus laat haar kind niet inenten vanwege autisme, heeft ze een punt", "bmr prik autisme waar of niet"],
 ["Vaccins veroorzaken geen autisme. Dat is in veel grote onderzoeken bij heel veel kinderen in verschillende landen bekeken, en er is geen verband gevonden, ook niet voor de BMR-prik. Twijfels kun je altijd bespreken met de jeugdarts. https://www.rijksvaccinatieprogramma.nl/",
  "Begrijpelijk dat je het beste wilt voor je kind. Er is geen verband tussen vaccins en autisme; autisme hangt vooral samen met aanleg en de ontwikkeling van de hersenen, die al voor de geboorte begint. https://www.rivm.nl/vaccinaties",
  "Nee, vaccins veroorzaken geen autisme; groot onderzoek in veel landen vond geen verband, ook niet met de BMR-prik. Twijfels? Bespreek ze met de jeugdarts. https://www.who.int/health-topics/vaccines-and-immunization"])
topic("magnetron-kanker", "nl", [
 "krijg je kanker van de magnetron?", "is magnetroneten radioactief",
 "mijn oma weigert de magnetron want kanker", "opwarmen in de microgolf is toch slecht",
 "straling uit de magnetron, gevaarlijk?", "mag ik babyvoeding in de magnetron opwarmen of geeft dat kanker"],
 ["Eten uit de magnetron geeft geen kanker. De magnetron verwarmt je eten met radiogolven; het wordt warm, maar niet radioactief of kankerverwekkend. Gebruik wel magnetronbestendige bakjes en roer goed door. https://www.voedingscentrum.nl/",
  "Nee hoor, de magnetron maakt eten niet radioactief. De straling blijft in het apparaat en stopt zodra hij uitgaat. https://www.kanker.nl/",
  "Nee, de magnetron maakt eten niet radioactief of kankerverwekkend. Gebruik wel magnetronbestendige bakjes en verwarm je eten goed door. https://www.cancer.gov/about-cancer/causes-prevention/risk"])
topic("e-sigaret-onschuldig", "nl", [
 "is vapen onschuldig?", "Een e-sigaret is toch gewoon waterdamp",
 "mijn dochter van 15 vaped, moet ik me zorgen maken", "dampen is veilig want geen teer toch",
 "is de e-sigaret een goede manier om te stoppen met roken", "kun je kanker krijgen van vapen"],
 ["Vapen is niet onschuldig. De damp is geen waterdamp: er zit meestal verslavende nicotine in en andere stoffen die schadelijk kunnen zijn voor je longen en bloedvaten. Wat vapen op de lange termijn doet, weten we nog niet goed. https://www.trimbos.nl/",
  "Nee, een e-sigaret is niet onschuldig. Waarschijnlijk minder schadelijk dan roken, maar wel verslavend en niet zonder risico. Wil je stoppen met roken, je huisarts kan helpen met methoden die bewezen werken. https://www.rivm.nl/",
  "Nee, vapen is niet onschuldig: de damp bevat vaak verslavende nicotine en schadelijke stoffen. Wat het op de lange termijn doet, is nog onbekend. https://www.who.int/news-room/fact-sheets/detail/tobacco"])
topic("griepprik-geeft-griep", "nl", [
 "krijg je griep van de griepprik?", "Na de griepprik lag ik een week ziek, hoe kan dat dan",
 "zit er levend virus in de griepprik", "ik haal hem niet want daar word je juist ziek van",
 "is het normaal dat je je grieperig voelt na de prik", "kan de griepspuit griep geven bij ouderen"],
 ["Van de griepprik krijg je geen griep: er zit geen levend virus in dat je ziek kan maken. Een pijnlijke arm of je even wat grieperig voelen kan wel, dat is je afweer en gaat vanzelf over. https://www.rivm.nl/vaccinaties",
  "Nee, de griepprik kan geen griep geven. Word je rond de prik toch ziek, dan komt dat door een ander virus of was je al besmet voordat de bescherming op gang kwam. https://www.lareb.nl/",
  "Nee, de griepprik bevat geen levend virus en kan geen griep geven. Een pijnlijke arm of je even wat grieperig voelen kan wel, en gaat vanzelf over. https://www.who.int/news-room/fact-sheets/detail/influenza-(seasonal)"])
topic("donatie-stopzetten", "nl", [
 "hoe stop ik mijn maandelijkse donatie?", "Ik wil mijn machtiging intrekken",
 "jullie schrijven nog steeds af terwijl ik heb opgezegd!!", "ik ben mijn baan kwijt en moet helaas stoppen met doneren",
 "hoe kan ik mijn bijdrage verlagen of stopzetten", "waar zeg ik mijn donatie op",
 "ik wil niet meer doneren, hoe regel ik dat snel", "kan ik mijn periodieke gift stoppen",
 "er is geld afgeschreven dat ik niet wilde, kan dat terug", "opzeggen donateurschap graag"],
 ["Jammer dat je wilt stoppen, en bedankt voor je steun tot nu toe! Je kunt je donatie altijd stopzetten of aanpassen via het formulier op onze website, telefonisch of per mail. Binnen vijf werkdagen is het geregeld en je krijgt een bevestiging. https://www.hoopengezondheid.example/donatie-wijzigen",
  "Bedankt voor je steun! Stoppen kan altijd via het formulier op onze site, telefonisch of per mail, en binnen vijf werkdagen is het geregeld. Is er toch nog iets afgeschreven? Dat kun je tot acht weken terugboeken via je bank.",
  "Stoppen of aanpassen kan altijd via het formulier op onze site, telefonisch of per mail. Een afschrijving kun je 8 weken lang terugboeken via je bank. https://www.hoopengezondheid.example/donatie-wijzigen"])
topic("privacy-gegevens", "nl", [
 "wat doen jullie met mijn gegevens?", "Verkopen jullie mijn adres aan andere goede doelen?",
 "ik wil dat jullie al mijn gegevens verwijderen", "hoe komen jullie aan mijn adres",
 "welke gegevens hebben jullie van mij", "delen jullie mijn data met derden"],
 ["We gebruiken je gegevens alleen om je donatie te verwerken en je op de hoogte te houden als je daarvoor hebt gekozen. We verkopen of verhuren je gegevens nooit. Inzien, aanpassen of laten verwijderen kan altijd: stuur ons een DM of gebruik het formulier in onze privacyverklaring. https://www.hoopengezondheid.example/privacy",
  "We verkopen je gegevens nooit aan anderen. Op grond van de AVG mag je altijd zien wat we van je hebben en het laten aanpassen of verwijderen. Stuur ons even een privébericht, dan regelen we het.",
  "We verkopen je gegevens nooit. Inzien, aanpassen of laten verwijderen kan altijd: stuur ons een DM of gebruik het formulier in onze privacyverklaring."])
topic("reactietijden-webcare", "nl", [
 "wanneer krijg ik antwoord?", "Ik heb gisteren een DM gestuurd en nog niks gehoord",
 "zijn jullie in het weekend bereikbaar", "waarom reageren jullie niet", "hoe laat is de webcare open"],
 ["Sorry dat je moest wachten! Onze webcare is er van maandag tot en met vrijdag van 8.00 tot 20.00 uur en in het weekend van 10.00 tot 17.00 uur. Binnen die tijden proberen we binnen een uur te reageren; daarbuiten antwoorden we de volgende ochtend.",
  "We zijn er ma-vr 8-20 uur en in het weekend 10-17 uur, en proberen binnen een uur te reageren. Daarbuiten antwoorden we de volgende ochtend. https://www.hoopengezondheid.example/contact"])
topic("anbi-belastingaftrek", "nl", [
 "is mijn donatie aftrekbaar?", "Zijn jullie een ANBI?", "kan ik mijn gift opgeven bij de aangifte",
 "hoe zit het met belastingvoordeel bij een periodieke schenking", "ik wil een giftenoverzicht voor de belasting"],
 ["Ja, wij zijn een erkende ANBI, dus je giften kunnen aftrekbaar zijn. Voor gewone giften geldt een drempel; leg je je gift vast als periodieke schenking voor minstens vijf jaar, dan is die zonder drempel aftrekbaar. Een giftenoverzicht vraag je bij ons op. https://www.belastingdienst.nl/",
  "Ja, we zijn een ANBI. Een periodieke schenking van 5 jaar of langer is zonder drempel aftrekbaar. Een giftenoverzicht vraag je bij ons op. https://www.hoopengezondheid.example/belastingvoordeel"])
topic("besteding-donaties", "nl", [
 "waar gaat mijn geld eigenlijk naartoe?", "Hoeveel van mijn donatie gaat naar salarissen?",
 "jullie directeur verdient vast een ton", "komt mijn geld wel bij patiënten terecht", "wat doen jullie met al dat geld"],
 ["Terechte vraag! Je donatie gaat naar onderzoek, steun voor patiënten en hun naasten en voorlichting. Fondsen werven en goed werken kost ook geld. In ons jaarverslag staat precies hoeveel we waaraan uitgeven, ook de beloning van de directie. https://www.hoopengezondheid.example/jaarverslag",
  "Naar onderzoek, patiëntensteun en voorlichting. Precies hoeveel waaraan, ook de beloning van de directie, staat in ons jaarverslag. Als erkend goed doel worden we gecontroleerd door het CBF: https://www.cbf.nl/"])
topic("bevolkingsonderzoek-darmkanker", "nl", [
 "ik heb een poeptest gekregen, wat moet ik ermee?", "Vanaf welke leeftijd krijg je de darmkankertest?",
 "mijn uitslag was afwijkend, heb ik nu kanker?", "hoe vaak krijg je de ontlastingstest",
 "moet ik meedoen als ik geen klachten heb", "is de thuistest voor darmkanker gratis"],
 ["Mensen van 55 tot en met 75 jaar krijgen elke twee jaar een gratis ontlastingstest voor thuis. Het lab kijkt of er bloed in zit dat je zelf niet ziet. Een afwijkende uitslag betekent niet dat je kanker hebt: je krijgt dan vervolgonderzoek. Heb je klachten, ga dan naar je huisarts. https://www.rivm.nl/bevolkingsonderzoek-darmkanker",
  "Van 55 t/m 75 jaar krijg je elke 2 jaar een gratis thuistest op bloed in je ontlasting. Ongunstige uitslag? Dan volgt vervolgonderzoek, geen diagnose. https://www.thuisarts.nl/"])
topic("klacht-indienen", "nl", [
 "ik wil een klacht indienen", "Waar kan ik klagen over jullie collectant?",
 "ik ben heel ontevreden over hoe ik behandeld ben", "wie kan ik mailen met een klacht", "hoe lang duurt het voordat ik iets hoor op mijn klacht"],
 ["Wat vervelend dat je niet tevreden bent, goed dat je het laat weten. Je kunt een klacht indienen via het klachtenformulier op onze website of per privébericht. Binnen vijf werkdagen krijg je een ontvangstbevestiging en binnen vier weken een inhoudelijke reactie. https://www.hoopengezondheid.example/klachten",
  "Vervelend! Dien je klacht in via het formulier op onze site of per DM. Binnen 4 weken hoor je van ons; daarna kun je naar het CBF. https://www.cbf.nl/"])
topic("sugar-feeds-cancer-en", "en", [
 "does sugar feed cancer?", "My mum stopped eating fruit because sugar feeds her tumour, is that right?",
 "should I cut all sugar now that I have cancer", "cancer cells live on sugar, so a sugar free diet starves them right",
 "is it true sugar makes cancer grow faster", "sugar = cancer fuel??"],
 ["All cells in your body use sugar for energy, including cancer cells. But cutting sugar does not starve a tumour: your body keeps making glucose from other food. Being overweight does raise the risk of several cancers. Talk to your doctor or a dietitian before big changes. https://www.cancerresearchuk.org/about-cancer",
  "Cutting sugar won't starve a tumour, because your body makes glucose from other food too. What does matter is that being overweight raises cancer risk. https://www.wcrf.org/",
  "All cells use sugar, healthy ones too. Cutting sugar won't starve a tumour, but being overweight does raise cancer risk. https://www.cancer.gov/about-cancer/causes-prevention/risk/myths"])
topic("wifi-cancer", "en", [
 "does wifi cause cancer?", "Should I switch off the router at night because of radiation?",
 "can wifi give my kids brain tumours", "is a router in the bedroom dangerous", "wireless radiation is carcinogenic right"],
 ["No, wifi does not cause cancer. It uses low-energy radio waves that can't damage the DNA in your cells, and exposure from a router is far below safety limits. There's no need to switch it off at night for your health. https://www.who.int/health-topics/electromagnetic-fields",
  "No. Wifi uses low-energy radio waves that can't damage DNA, at levels far below safety limits. Switching it off at night isn't needed. https://www.cancerresearchuk.org/about-cancer"])
topic("stop-donation-en", "en", [
 "how do I cancel my monthly donation?", "Please stop my direct debit",
 "you are still taking money after I cancelled", "I lost my job and need to stop giving", "how can I end my regular gift"],
 ["Sorry to see you go, and thank you for your support so far! You can stop or change your donation at any time through the form on our website, by phone or by email, and it will be done within five working days. https://www.hoopengezondheid.example/donatie-wijzigen",
  "You can stop or change anytime via the form on our site, by phone or email. If something was taken that you didn't want, your bank can refund it for up to eight weeks after the debit."])
topic("mammogram-radiation-en", "en", [
 "do mammograms cause breast cancer?", "Is the radiation from breast screening dangerous?",
 "can squeezing the breast spread cancer", "I'm scared of the x-rays at my mammogram appointment", "should I skip screening because of radiation"],
 ["It's a fair question. A mammogram uses a very low dose of X-rays, and for women in the screening age group the benefit of finding breast cancer early is much larger than that small risk. Pressing the breast does not spread cancer. https://www.rivm.nl/bevolkingsonderzoek-borstkanker",
  "A mammogram uses a very low X-ray dose; for women in the screening age the benefit of early detection is far larger. Compression doesn't spread cancer. https://www.cancer.gov/types/breast/mammograms-fact-sheet"])
topic("essential-oils-cure-cancer", "en", [
 "does frankincense oil cure cancer?", "My aunt puts essential oils on her tumour, does that work?",
 "essential oils kill cancer cells right", "can aromatherapy replace chemo", "lavender oil against cancer?"],
 ["Essential oils, including frankincense, do not cure cancer. Lab studies on cells in a dish are very different from treating a person. Aromatherapy may help some people relax during treatment, but never instead of it. Please talk to your doctor first. https://www.cancer.gov/about-cancer/treatment/cam",
  "No, essential oils don't cure cancer. Aromatherapy may help you relax, but never as a replacement for treatment. Check with your doctor. https://www.cancerresearchuk.org/about-cancer"])
topic("where-donations-go-en", "en", [
 "where does my money actually go?", "How much of my donation goes to salaries?", "your director earns a fortune I bet", "does my gift reach patients"],
 ["A fair question! Your donation goes to research, support for patients and their loved ones, and information about healthy living and early detection. Our annual report shows exactly how much goes where, including directors' pay. https://www.hoopengezondheid.example/jaarverslag",
  "Research, patient support and information. Exactly how much goes where, including directors' pay, is in our annual report, and as a recognised charity we're checked by the CBF."])

# Planted: (topic, agent, kind, reply body, note)
P = [
 ("donatie-stopzetten", "Kevin", "outdated_policy", "Je kunt je donatie stopzetten door ons een ondertekende brief te sturen met je naam, adres en donateursnummer. Opzeggen gaat in na twee maanden.", "old letter procedure, two months notice"),
 ("donatie-stopzetten", "Ineke", "outdated_policy", "Wat jammer! Stuur ons een ondertekende brief met je naam, adres en donateursnummer, dan zetten we je donatie stop. Houd er rekening mee dat het opzeggen na twee maanden ingaat.", "old letter procedure"),
 ("donatie-stopzetten", "Kevin", "outdated_policy", "Opzeggen gaat per brief: stuur een ondertekende brief met naam, adres en donateursnummer naar ons. Het opzeggen gaat in na twee maanden.", "old letter procedure"),
 ("donatie-stopzetten", "Tom", "outdated_policy", "Je donatie stopzetten doe je door een ondertekende brief te sturen met je naam, adres en je donateursnummer. Na twee maanden gaat het in.", "old letter procedure"),
 ("donatie-stopzetten", "Ineke", "outdated_policy", "Dat kan! Stuur ons per post een ondertekende brief met je naam, je adres en je donateursnummer. Het opzeggen gaat dan na twee maanden in.", "old letter procedure"),
 ("suiker-voedt-kanker", "Kevin", "different_stance", "Klopt, suiker voedt kanker, dus minder suiker eten is zeker verstandig als je ziek bent. https://www.kanker.nl/", "agrees sugar feeds cancer"),
 ("cannabisolie-geneest-kanker", "Ineke", "different_stance", "Sommige mensen hebben er echt baat bij hoor, probeer het gerust naast je behandeling. https://www.trimbos.nl/", "legitimises cannabis oil as cure"),
 ("zuiveringszout-geneest-kanker", "Kevin", "different_stance", "Dat is waar, zuiveringszout maakt je lichaam basisch en dat vinden tumoren niet fijn. https://www.kanker.nl/", "agrees with baking soda myth"),
 ("sugar-feeds-cancer-en", "Kevin", "different_stance", "That's right, sugar feeds cancer cells so cutting it out is a good idea. https://www.wcrf.org/", "agrees sugar feeds cancer"),
 ("essential-oils-cure-cancer", "Ineke", "different_stance", "Yes, it can help! Many people use frankincense alongside treatment, give it a try. https://www.cancerresearchuk.org/about-cancer", "legitimises essential oils"),
 ("magnetron-kanker", "Pieter", "different_stance", "Inderdaad, de straling van de magnetron is niet zo gezond, ik zou het ook zo min mogelijk gebruiken. https://www.voedingscentrum.nl/", "agrees microwave is harmful"),
 ("5g-kanker", "Ineke", "missing_source", "Nee hoor, 5G geeft geen kanker. Het zijn dezelfde radiogolven als 4G en wifi, en die zijn te zwak om je DNA te beschadigen.", "no link"),
 ("deodorant-borstkanker", "Kevin", "missing_source", "Nee, van deo krijg je geen borstkanker, dat is een fabel. Zie ook https://www.youtube.com/watch?v=dQw4w9WgXcQ", "youtube link instead of a source"),
 ("vaccins-autisme", "Kevin", "missing_source", "Nee, vaccins veroorzaken geen autisme, daar is geen bewijs voor uit groot onderzoek.", "no link"),
 ("hpv-vaccin-onvruchtbaar", "Tom", "missing_source", "Nee, de HPV-prik maakt niet onvruchtbaar. Lees maar eens https://www.gezondheidsblog.example/hpv-waarheid", "random blog link"),
 ("wifi-cancer", "Ineke", "missing_source", "No, wifi doesn't cause cancer, the radio waves are far too weak to damage DNA.", "no link"),
 ("griepprik-geeft-griep", "Pieter", "missing_source", "Nee, van de griepprik krijg je geen griep, er zit geen levend virus in.", "no link"),
 ("donatie-stopzetten", "Tom", "wrong_fact", "Stoppen kan via het formulier op onze website, telefonisch of per mail. Het duurt wel 3 maanden voordat het geregeld is. https://www.hoopengezondheid.example/donatie-wijzigen", "three months instead of five working days"),
 ("bevolkingsonderzoek-darmkanker", "Kevin", "wrong_fact", "Vanaf 40 jaar krijg je elk jaar een gratis ontlastingstest thuis. Een afwijkende uitslag betekent nog geen kanker. https://www.rivm.nl/bevolkingsonderzoek-darmkanker", "wrong age and interval"),
 ("reactietijden-webcare", "Ineke", "wrong_fact", "We zijn er ma-vr van 9 tot 17 uur en proberen binnen 24 uur te reageren. https://www.hoopengezondheid.example/contact", "wrong hours and response time"),
 ("klacht-indienen", "Kevin", "wrong_fact", "Je kunt een klacht indienen via het formulier op onze site. Binnen 12 weken krijg je een inhoudelijke reactie. https://www.hoopengezondheid.example/klachten", "twelve weeks instead of four"),
 ("anbi-belastingaftrek", "Tom", "wrong_fact", "Ja, we zijn een ANBI. Een periodieke schenking van minimaal 3 jaar is zonder drempel aftrekbaar. https://www.belastingdienst.nl/", "three years instead of five"),
 ("stop-donation-en", "Kevin", "wrong_fact", "You can stop via the form on our website, by phone or email. It takes about 30 days to process. https://www.hoopengezondheid.example/donatie-wijzigen", "30 days instead of five working days"),
 ("donatie-stopzetten", "Ineke", "wrong_fact", "Stoppen kan altijd via het formulier op onze site. Een ongewenste afschrijving kun je 13 maanden terugboeken via je bank.", "13 months instead of eight weeks"),
]

rows, planted = [], []
agents = list(AGENTS)
start = dt.datetime(2026, 10, 1, 8, 0)
n = 0
def when():
    day = rng.randrange(0, 31); hour = rng.randrange(8, 20); minute = rng.randrange(0, 60)
    return (start + dt.timedelta(days=day, hours=hour - 8, minutes=minute)).strftime("%Y-%m-%dT%H:%M:00+02:00")
def wrap(agent, lang, body, name):
    g_name, g_plain, s_nl, s_en = AGENTS[agent]
    greet = g_name.format(n=name) if name else g_plain
    if lang == "en":
        greet = greet.replace("Hoi", "Hi").replace("Beste", "Dear").replace("Lieve", "Dear").replace("Hallo daar", "Hello there").replace("Hallo", "Hello").replace("Dag", "Hello")
    sign = s_en if lang == "en" else s_nl
    return f"{greet} {body} {sign}"
for ti, (tid, (lang, messages, bodies)) in enumerate(T.items()):
    for mi, msg in enumerate(messages + messages[:2]):  # the commonest questions come back to other agents
        agent = agents[(ti * 2 + mi + (3 if mi >= len(messages) else 0)) % len(agents)]
        name = rng.choice(NAMES)
        body = bodies[(mi + ti) % len(bodies)]
        n += 1
        rows.append({"id": f"r-{n:03d}", "agent": agent, "channel": rng.choice(CH), "time": when(),
                     "message": msg, "reply": wrap(agent, lang, body, name)})
for tid, agent, kind, body, note in P:
    lang, messages, _ = T[tid]
    n += 1
    msg = messages[rng.randrange(len(messages))]
    rows.append({"id": f"r-{n:03d}", "agent": agent, "channel": rng.choice(CH), "time": when(), "message": msg,
                 "reply": wrap(agent, lang, body, rng.choice(NAMES))})
    planted.append({"id": f"r-{n:03d}", "kind": kind, "article": tid, "note": note})
rng.shuffle(rows)
rows.sort(key=lambda r: r["time"])
with open(HERE / "agents_sample.jsonl", "w", encoding="utf-8") as f:
    for r in rows: f.write(json.dumps(r, ensure_ascii=False) + "\n")
with open(HERE / "agents_sample_planted.jsonl", "w", encoding="utf-8") as f:
    for p in planted: f.write(json.dumps(p, ensure_ascii=False) + "\n")

print(len(rows), Counter(r["agent"] for r in rows), Counter(p["kind"] for p in planted))

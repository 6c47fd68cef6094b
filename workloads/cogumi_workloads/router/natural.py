"""A small hand-written check set: queries phrased as people type them, ten per domain.

The task suites' prompts come from templates and generators, so a router can score near 100 % on
their test split by recognising the templates. These queries (written for this project, used only
for evaluation, never for training) measure how the router does on free phrasing: metric
``naturalAccuracy`` of the train stage. With ten per domain its interval is wide; read it as a
sanity check, not a benchmark.
"""

from __future__ import annotations

NATURAL: dict[str, tuple[str, ...]] = {
    "code": (
        "how do I reverse a list in python without using reversed()",
        "write a function that checks whether a string is a palindrome",
        "my for loop skips every other element when I remove items, why?",
        "python: count how many times each word appears in a text",
        "implement binary search over a sorted list of ints",
        "can you write a function returning the n-th prime number",
        "def merge two sorted lists into one sorted list",
        "what's the cleanest way to flatten a nested list in Python?",
        "write a python generator that yields fibonacci numbers",
        "function that removes duplicate characters from a string but keeps the order",
    ),
    "reasoning": (
        "If every cat is a mammal and some mammals fly, does it follow that some cats fly?",
        "Alice always lies and Bob always tells the truth. Alice says Bob is a liar. Who is telling the truth?",
        "no reptiles are birds, all snakes are reptiles — can a snake be a bird?",
        "If it rains the ground gets wet. The ground is dry. Did it rain?",
        "Three boxes are labelled wrongly: apples, oranges, mixed. How few picks tell you which is which?",
        "Is this argument valid: all poets are dreamers, Sam is a dreamer, so Sam is a poet?",
        "On an island knights tell truth and knaves lie. A says 'we are both knaves'. What are A and B?",
        "if P implies Q and Q is false, what can we say about P",
        "Some teachers are runners. All runners are healthy. Are some teachers healthy?",
        "Tom is taller than Ann, Ann is taller than Joe. Is Joe taller than Tom?",
    ),
    "automation": (
        "send an email to maria@example.com telling her the meeting moved to 3pm",
        "book a calendar event called dentist on 2025-03-14 at 09:00",
        "what's the weather in Lisbon in celsius? use the weather tool",
        "create a reminder to pay rent on the first of every month",
        "call the API to add 'buy milk' to my shopping list",
        "schedule a call with the sales team for next Tuesday and email them the invite",
        "turn this into a JSON tool call: get weather for Tokyo in fahrenheit",
        "please email the quarterly report to finance@acme.io with subject Q3 numbers",
        "set up an event 'team lunch' on friday at noon in the calendar",
        "use the tools to look up the forecast for Berlin and then mail it to me",
    ),
    "math": (
        "what is 384 times 27",
        "calculate 15 + 7 * 3 - 12 / 4",
        "1024 divided by 32?",
        "how much is -45 plus 78 minus 19",
        "compute (12 + 8) * (9 - 4)",
        "what's 7 squared minus 3 cubed",
        "add 2345 and 6789",
        "subtract 999 from 10000",
        "evaluate 56 * 12 + 300",
        "what do you get when you multiply 0.25 by 48",
    ),
    "hard-math": (
        "A baker makes 120 rolls, sells 3/4 of them in the morning and half of the rest in the afternoon. "
        "How many are left?",
        "Sara reads 12 pages a day for a week, then 20 pages a day for 5 days. How many pages did she read?",
        "A train travels 180 km in 2 hours and then 150 km in 3 hours. What is its average speed?",
        "Tickets cost $8 for adults and $5 for kids. A family of 2 adults and 3 kids pays with $50. What change?",
        "Jake has twice as many marbles as Lily, who has 7 more than Omar. Omar has 9. How many does Jake have?",
        "A tank holds 500 liters and leaks 12 liters an hour. How much is left after a day and a half?",
        "If 5 workers build a wall in 12 days, how long would 8 workers take at the same rate?",
        "Mia buys 3 shirts at $14 each and 2 pairs of jeans at $35 each. How much does she spend?",
        "A farmer has chickens and cows, 30 heads and 74 legs in total. How many cows are there?",
        "Each box holds 24 pencils. A school needs 1000 pencils. How many boxes must it order?",
    ),
    "science": (
        "why does a ball thrown upward slow down before falling back?",
        "which formula gives the kinetic energy of a moving object?",
        "what happens to the pressure of a gas if you halve its volume at constant temperature",
        "a car accelerates from 0 to 20 m/s in 4 s, what is its acceleration",
        "why do heavier and lighter objects fall at the same rate in a vacuum",
        "what is the momentum of a 3 kg cart moving at 2 m/s",
        "explain why ice floats on water",
        "which way does friction act on a box sliding to the right",
        "how is electric potential related to the distance from a point charge",
        "what force keeps the moon in orbit around the earth",
    ),
    "finance": (
        "how much interest does $5000 earn in 3 years at 4% simple interest",
        "what is 15% of 240",
        "if I invest 10000 at 6% compounded yearly, what do I have after 5 years?",
        "a jacket costs 80 dollars and is 25 percent off, what's the sale price",
        "what's the monthly interest on a 1200 balance at 18% a year",
        "how much is a 12% tip on a 65 dollar bill",
        "my salary went from 50000 to 54000, by what percent did it rise",
        "compound interest on 2500 at 3.5% for 4 years",
        "what percent of 800 is 36",
        "a loan of 20000 at 7% simple interest for 2 years — total to repay?",
    ),
    "creative": (
        "write a haiku about the sea",
        "give me a four-line poem about autumn where every line starts with the letter S",
        "write an acrostic for the word MOON about night",
        "compose a short poem about coffee that ends with the word 'morning'",
        "write a sentence about cats where every word starts with C",
        "a limerick about a forgetful wizard please",
        "write two lines about rain that rhyme",
        "describe a sunset in exactly ten words",
        "write a tiny story about a lost key in three sentences",
        "make up a slogan for a bakery using alliteration",
    ),
}

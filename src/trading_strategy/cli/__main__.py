from trading_strategy.cli import console

console()

from cramp.cli import main

main()

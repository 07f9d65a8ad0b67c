from fluxos.cli import main

main()

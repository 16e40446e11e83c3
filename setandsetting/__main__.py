from setandsetting.cli import main

raise SystemExit(main())

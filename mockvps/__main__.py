from mockvps.cli import main

raise SystemExit(main())
